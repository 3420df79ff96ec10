# Airflow image of the SendGrid utilization pipeline (used by every Airflow service of
# docker-compose.yaml). Extends the official image as its docs recommend for anything beyond a
# quick check: pinned requirements installed at build time, never _PIP_ADDITIONAL_REQUIREMENTS.
#
#   docker build -t sendgrid-utilization-airflow:0.1.0 .
#
# The base tag must match apache-airflow in requirements.txt (tests/deploy/test_dockerfile.py).
# The slim image: its few providers leave requirements.txt (resolved for this project) to pick
# every other package, so `pip check` below has no foreign providers to disagree with.
FROM apache/airflow:slim-3.3.2-python3.11

ARG AIRFLOW_VERSION=3.3.2
# The installed package finds the DAGs, the dbt project (and its manifest) and the plugins in
# SENDGRID_PROJECT_DIR (PROJECT_DIR_ENV in sendgrid_elt/settings.py): where step 3 copies them.
# The package sources are copied to SRC only to be installed.
ARG SRC=/opt/airflow/src
ENV SENDGRID_PROJECT_DIR=/opt/airflow \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

USER airflow

# 1. Third-party runtime requirements, exactly as pinned for the project (our own constraints;
#    the official constraint files are not reachable from our build machines). Re-pinning
#    apache-airflow keeps pip from up- or downgrading the Airflow the image ships.
COPY --chown=airflow:0 requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/requirements.txt

# 2. The local provider (connection type `sendgrid`) and the project package, as normal
#    (non-editable) installs: their dependencies are already pinned above.
COPY --chown=airflow:0 plugins/sendgrid_hook ${SRC}/plugins/sendgrid_hook
COPY --chown=airflow:0 pyproject.toml ${SRC}/pyproject.toml
COPY --chown=airflow:0 sendgrid_elt ${SRC}/sendgrid_elt
COPY --chown=airflow:0 sendgrid_dashboard ${SRC}/sendgrid_dashboard
COPY --chown=airflow:0 sendgrid_demo ${SRC}/sendgrid_demo
COPY --chown=airflow:0 sendgrid_simulator ${SRC}/sendgrid_simulator
RUN pip install --no-cache-dir --no-deps \
        "${SRC}/plugins/sendgrid_hook" "${SRC}" \
    && pip check \
    && python -c "import airflow.providers.celery.executors.celery_executor_utils" \
    && airflow providers hooks | grep -q sendgrid

# 3. DAGs, plugins (the Connect page; plugins/.airflowignore keeps the provider's source out
#    of the plugin loader), the dbt project and the deployment scripts (init, demo tenants).
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 dbt_project /opt/airflow/dbt_project
COPY --chown=airflow:0 deploy /opt/airflow/deploy

# 4. The dbt manifest the transform DAG reads its tasks from (DAG files never run dbt: without
#    it the DAG is an import error); `dbt parse` needs no database connection.
RUN DBT_SEND_ANONYMOUS_USAGE_STATS=false dbt parse --quiet \
        --project-dir /opt/airflow/dbt_project --profiles-dir /opt/airflow/dbt_project \
        --target-path /opt/airflow/dbt_project/target --log-path /tmp/dbt-logs

WORKDIR /opt/airflow
