"""Transform DAG: builds the dbt utilization marts whenever the extract DAG lands new data.

Scheduled on the extract DAG's Asset ``sendgrid_staging``. Task ``dbt_build`` runs **one**
``dbt build`` of the whole project with dbt's threads (the speed of dbt itself) and publishes
every node's result as dbt finishes it. Each dbt model and seed has its own task in the grid
(grouped by folder: ``staging``, ``intermediate``, ``marts``, ``seeds``) that also reports the
tests declared on it (unit tests, data tests, ``relationships`` tests): it starts in the
**triggerer**, waits for its nodes and ends there with dbt's verdict, **success**, **failed**
(the model or one of its tests failed: its log shows dbt's message) or **skipped** (dbt skipped
it because something upstream failed), never occupying a worker. ``publish_marts`` emits the
Asset ``sendgrid_marts`` when every model task succeeded and fails otherwise, so the run fails.
``dbt_build`` itself fails only when dbt fails as a whole (project, profile, connection) or
something no model task reports fails (the ``on-run-end`` grants).

**Rerun a model**: clear its task with *Downstream* (the default): the cleared tasks rebuild
their own nodes on a worker, in dependency order (``dbt build --select <model>``, tests
included). Clearing ``dbt_build`` with its downstream tasks rebuilds everything in one build.

dbt's ``run_results.json`` and ``dbt.log`` of each run are kept in
``.local/dbt/runs/<run_id>/`` (``SENDGRID_DBT_RUNS_DIR`` moves it); the task logs name the
folder. The run's as-of instant (asset event extra ``as_of``) is the dbt var ``sendgrid_as_of``.

Speed against a plain ``dbt build`` with the same threads: ``bench/bench_transform.py`` (README,
Benchmarks).

Parsing reads ``dbt_project/target/manifest.json`` (JSON only, built by ``make manifest``,
CI and the Docker image): no dbt, database or plugin import; a missing manifest is an import
error that names the command.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, TaskGroup, task

from sendgrid_elt.assets import MARTS_ASSET, STAGING_ASSET  # staging: emitted by the extract DAG
from sendgrid_elt.dbt_graph import load_graph
from sendgrid_elt.dbt_tasks import DbtBuildOperator, DbtNodeOperator, PublishMartsOperator
from sendgrid_elt.run_alerts import RunFailureNotifier
from sendgrid_elt.settings import DBT_PROJECT_DIR, OVERAGE_FORECAST_MODEL, TRANSFORM_DAG_ID

graph = load_graph(DBT_PROJECT_DIR)

with DAG(
    dag_id=TRANSFORM_DAG_ID,
    description="dbt utilization marts: one dbt build, one task per model in the grid",
    schedule=[STAGING_ASSET],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["sendgrid", "dbt"],
    doc_md=__doc__,
    on_failure_callback=RunFailureNotifier(),  # one alert per failed run (sendgrid_elt.run_alerts)
) as dag:
    build = DbtBuildOperator(task_id="dbt_build", project_dir=str(DBT_PROJECT_DIR))
    groups: dict[str, TaskGroup] = {}
    tasks: dict[str, DbtNodeOperator] = {}
    for node in graph.tasks:
        group_id, name = node.task_id.split(".", 1)
        if group_id not in groups:
            groups[group_id] = TaskGroup(group_id)
        tasks[node.task_id] = DbtNodeOperator(
            task_id=name,
            task_group=groups[group_id],
            node=node,
            project_dir=str(DBT_PROJECT_DIR),
            producer_task_id=build.task_id,
        )
        for parent in [tasks[p] for p in node.parents] or [build]:
            parent >> tasks[node.task_id]

    @task
    def send_overage_alerts() -> list[dict]:
        """One alert per tenant and credit period whose projection passes its plan."""
        from sendgrid_elt.overage_alerts import send_overage_alerts

        return send_overage_alerts()

    # the marts Asset (downstream DAGs and BI refreshes schedule on it), once every model task
    # succeeded; a failed model fails it, and so the run
    publish = PublishMartsOperator(task_id="publish_marts", outlets=[MARTS_ASSET])
    list(tasks.values()) >> publish
    # the alerts read one model: they wait on it and its tests, not on unrelated models
    forecast = {
        n.task_id for n in graph.tasks if n.unique_id.endswith(f".{OVERAGE_FORECAST_MODEL}")
    }
    gate = [
        n.task_id
        for n in graph.tasks
        if n.task_id in forecast
        or (n.unique_id.startswith(("test.", "unit_test.")) and forecast & set(n.parents))
    ]
    ([tasks[t] for t in gate] or [publish]) >> send_overage_alerts()
