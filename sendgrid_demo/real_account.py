"""``SENDGRID_API_KEY=SG... make run``: the whole pipeline once against a real SendGrid account.

The key comes from the environment (never from the command line of a process), the warehouse
is an embedded PostgreSQL of its own in ``.local/run/warehouse/`` (never the demo's, so the
simulated tenants and the real account stay apart), or the configured ``sendgrid_warehouse``;
Airflow runs in an isolated home under ``.local/run/``, and both DAGs run for real
(``dag.test()``). The dashboard is written to ``.local/run/dashboard.html``.

Before Airflow starts, one ``GET /v3/scopes`` checks the key (:mod:`sendgrid_demo.key_check`):
an unreachable host or a rejected key is named at once. The DAGs run without task retries (a
one-shot command; ``dag.test()`` would wait out the retry delays, minutes): a failure is
reported right away, each failed tenant with its reason, and running the command again resumes.

Environment: ``SENDGRID_API_KEY`` (required), ``SENDGRID_REGION`` (``global`` | ``eu``),
``SENDGRID_DISPLAY_NAME``, ``SENDGRID_SUBUSERS`` (``all`` | ``none`` | names) and
``SENDGRID_BASE_URL`` (a proxy; the tests point it at the simulator).
"""

from __future__ import annotations

import json
import os
import sys
import time

from sendgrid_demo.airflow_home import airflow_environment, configure
from sendgrid_demo.console import say
from sendgrid_elt.settings import (
    CONN_TYPE,
    EXTRACT_DAG_ID,
    LOCAL_DIR,
    MARTS_SCHEMA,
    TRANSFORM_DAG_ID,
)

RUN_DIR = LOCAL_DIR / "run"
AIRFLOW_HOME = RUN_DIR / "airflow"
#: The embedded warehouse of ``make run`` (the demo's is ``.local/warehouse/``).
RUN_WAREHOUSE_DIR = RUN_DIR / "warehouse" / "pgdata"
#: Airflow's, dbt's and the tasks' own output (the terminal gets one line per task).
LOG_FILE = RUN_DIR / "run.log"
TENANT_ID = "sendgrid_account"


def tenant_connection(environ: dict[str, str]) -> str:
    """The ``AIRFLOW_CONN_SENDGRID_ACCOUNT`` value built from the environment.

    Raises:
        SystemExit: ``SENDGRID_API_KEY`` is not set.
    """
    key = environ.get("SENDGRID_API_KEY", "").strip()
    if not key:
        raise SystemExit(
            "set SENDGRID_API_KEY (a read-only key; README: Connect a real SendGrid account)"
        )
    extra = {
        "auth_type": "api_key",
        "region": environ.get("SENDGRID_REGION", "global"),
        "display_name": environ.get("SENDGRID_DISPLAY_NAME", "My SendGrid account"),
        "subusers": environ.get("SENDGRID_SUBUSERS", "all"),
    }
    fields = {"conn_type": CONN_TYPE, "password": key, "extra": extra}
    if environ.get("SENDGRID_BASE_URL"):
        fields["host"] = environ["SENDGRID_BASE_URL"]
    return json.dumps(fields)


def main() -> int:
    """Run extract and transform once; print where the results are; return the exit code."""
    started = time.monotonic()
    connection = tenant_connection(dict(os.environ))
    os.environ.update(airflow_environment(AIRFLOW_HOME))  # before anything imports airflow
    os.environ[f"AIRFLOW_CONN_{TENANT_ID.upper()}"] = connection

    from sendgrid_demo.console import run_logged

    return run_logged(lambda: _run(started), LOG_FILE, "make run")


def _run(started: float) -> int:
    from sendgrid_dashboard import write_dashboard
    from sendgrid_demo.key_check import check_key
    from sendgrid_demo.runner import load_dags, report, run_dag, without_retries
    from sendgrid_elt.warehouse import resolve_warehouse

    ok, outcome = check_key(TENANT_ID)
    if not ok:
        say(f"!! {outcome}")
        say(f"make run stopped before running anything (Airflow's log: {LOG_FILE})")
        return 1
    say(outcome)
    configure(AIRFLOW_HOME)
    warehouse = resolve_warehouse(RUN_WAREHOUSE_DIR, announce=False)
    say(warehouse.describe())
    say(f"Airflow's log: {LOG_FILE}")
    dags = load_dags(EXTRACT_DAG_ID, TRANSFORM_DAG_ID)
    results = []
    for dag_id in (EXTRACT_DAG_ID, TRANSFORM_DAG_ID):
        say(f"==> {dag_id}")
        results.append(run_dag(without_retries(dags[dag_id])))
        report(results[-1])
    path = write_dashboard(warehouse.target.conninfo(), RUN_DIR / "dashboard.html")
    say(f"Dashboard: file://{path}")
    say(f"Marts: {warehouse.target.describe()} schema {MARTS_SCHEMA}")
    say(f"Done in {time.monotonic() - started:.0f}s.")
    if any(r.state != "success" for r in results):
        say("Something failed (see the lines marked !); run `make run` again to resume.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
