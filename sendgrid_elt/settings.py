"""The pipeline's names and paths, defined once; every other module imports them from here.

Names that the provider owns (connection type, warehouse connection id, Connect page path) are
re-exported from :mod:`sendgrid_hook.constants`, so a module of the pipeline needs only this one.
dbt receives the schema names as vars built by :func:`dbt_vars`, never as literals of its own.

This module imports nothing heavy (no Airflow, no database driver): DAG files and tools import
it at parse time.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from sendgrid_hook.constants import (
    CONN_TYPE,
    CONNECT_APP_PREFIX,
    CONNECT_BASE_URL_VARIABLE,
    CONNECT_PAGE_PATH,
    WAREHOUSE_CONN_ID,
)


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment variable ``name`` (``default`` when unset).

    Raises:
        ValueError: Naming the variable, when its value is not a positive number.
    """
    text = os.environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, got {text!r}")
    return value


# -- where things are ------------------------------------------------------------------------
#: Environment variable naming the project folder (``dags``, ``dbt_project``, ``plugins``) where
#: the package is installed apart from it, as in the Docker image (``/opt/airflow``).
PROJECT_DIR_ENV = "SENDGRID_PROJECT_DIR"
#: Root of the repository (an editable install), or the folder :data:`PROJECT_DIR_ENV` names.
PROJECT_ROOT = Path(os.environ.get(PROJECT_DIR_ENV) or Path(__file__).resolve().parent.parent)
#: Git-ignored local state: embedded warehouse, demo home, dbt run artifacts, dashboards
#: (``SENDGRID_LOCAL_DIR`` moves it, e.g. for a test that runs ``make airflow``).
LOCAL_DIR = Path(os.environ.get("SENDGRID_LOCAL_DIR") or PROJECT_ROOT / ".local")
DAGS_DIR = PROJECT_ROOT / "dags"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
#: The command that builds :data:`DBT_MANIFEST` (named in errors when it is missing).
DBT_MANIFEST_COMMAND = "make manifest"
#: Environment variable that moves the dbt artifacts of transform runs (see :func:`dbt_runs_dir`).
DBT_RUNS_DIR_ENV = "SENDGRID_DBT_RUNS_DIR"
#: The environment variable ``dbt_project/profiles.yml`` reads for each libpq parameter of the
#: warehouse (set by ``sendgrid_elt.transform.warehouse_env``; the dbt lock's session reads
#: them too).
WAREHOUSE_ENV = {
    "host": "SENDGRID_WAREHOUSE_HOST",
    "port": "SENDGRID_WAREHOUSE_PORT",
    "user": "SENDGRID_WAREHOUSE_USER",
    "password": "SENDGRID_WAREHOUSE_PASSWORD",
    "dbname": "SENDGRID_WAREHOUSE_DBNAME",
}
#: dbt threads of every dbt invocation of the pipeline (env ``SENDGRID_DBT_THREADS``; the same
#: variable sets ``threads`` in ``dbt_project/profiles.yml``).
DBT_THREADS = int(_env_number("SENDGRID_DBT_THREADS", 4))
#: dbt var of a run's as-of instant, and the staging asset-event extra key that carries it.
AS_OF_VAR, AS_OF_EXTRA = "sendgrid_as_of", "as_of"

# -- warehouse -------------------------------------------------------------------------------
#: Environment variable form of the warehouse connection (``AIRFLOW_CONN_<ID>``).
WAREHOUSE_CONN_ENV = f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}"
#: Raw records, sync state, stream status, connection health (written by the extract DAG).
STAGING_SCHEMA = "sendgrid_staging"
#: dbt's target schema (its staging/intermediate models go to schemas derived from it).
DBT_SCHEMA = "sendgrid_dbt"
#: What BI tools and the dashboard read.
MARTS_SCHEMA = "sendgrid_marts"
#: Read-only role granted ``SELECT`` on the marts by dbt's on-run-end hook.
BI_READER_ROLE = "sendgrid_bi_reader"
#: The table beside the marts where dbt's on-run-end macro ``record_build_status`` keeps, per
#: mart and report, what the last transform run did to it (``last_run_status``,
#: ``last_run_as_of_at``, ``data_as_of_at``, ``is_current``); the dashboard reads it.
BUILD_STATUS_TABLE = "sendgrid_build_status"

# -- Airflow ---------------------------------------------------------------------------------
EXTRACT_DAG_ID = "sendgrid_extract_load"
TRANSFORM_DAG_ID = "sendgrid_transform"
#: The dbt model the overage alerts read (the alerts task waits on it and its tests only).
OVERAGE_FORECAST_MODEL = "rpt_sendgrid_overage_forecast"
#: Pool capping concurrent SendGrid API work across all DAG runs.
API_POOL = "sendgrid_api"
API_POOL_SLOTS = 4

#: ``execution_timeout`` of one extract task (env ``SENDGRID_EXTRACT_TIMEOUT_MINUTES``).
EXTRACT_TASK_TIMEOUT = dt.timedelta(minutes=_env_number("SENDGRID_EXTRACT_TIMEOUT_MINUTES", 240))
#: Most extract task instances (batches of tenants) per run, whatever the number of tenants
#: (env ``SENDGRID_EXTRACT_MAX_BATCHES``; clamped to Airflow's ``[core] max_map_length``).
EXTRACT_MAX_BATCHES = int(_env_number("SENDGRID_EXTRACT_MAX_BATCHES", 32))
#: Tenants of one batch extracted at the same time, each on its own thread, connection and rate
#: limiter (env ``SENDGRID_EXTRACT_TENANT_THREADS``).
EXTRACT_TENANT_THREADS = int(_env_number("SENDGRID_EXTRACT_TENANT_THREADS", 8))
#: How long a run waits for another run of the same tenant to finish before skipping the tenant
#: (env ``SENDGRID_TENANT_LOCK_WAIT_SECONDS``).
TENANT_LOCK_WAIT_SECONDS = _env_number("SENDGRID_TENANT_LOCK_WAIT_SECONDS", 60)
#: Longest wait of an extract's warehouse statement for a lock another session holds (a table
#: an administrator locked or is altering); the statement's stream fails, the others go on
#: (env ``SENDGRID_WAREHOUSE_LOCK_TIMEOUT_SECONDS``).
WAREHOUSE_LOCK_TIMEOUT_SECONDS = _env_number("SENDGRID_WAREHOUSE_LOCK_TIMEOUT_SECONDS", 300)
#: A complete read of one unit (the parent account or one subuser) of a snapshot stream that
#: would mark deleted more than this share of the unit's current keys, and at least
#: :data:`SNAPSHOT_HOLD_MIN_KEYS` of them, is held until the next complete read agrees
#: (:mod:`sendgrid_elt.snapshot_guard`; env ``SENDGRID_SNAPSHOT_HOLD_SHARE``, 1 turns it off).
SNAPSHOT_HOLD_SHARE = _env_number("SENDGRID_SNAPSHOT_HOLD_SHARE", 0.5)
#: The fewest keys a held deletion has: a smaller one is applied at once (env
#: ``SENDGRID_SNAPSHOT_HOLD_MIN_KEYS``).
SNAPSHOT_HOLD_MIN_KEYS = int(_env_number("SENDGRID_SNAPSHOT_HOLD_MIN_KEYS", 10))
#: Asset names and URIs (``sendgrid_elt.assets`` builds the Asset objects).
STAGING_ASSET_NAME, STAGING_ASSET_URI = "sendgrid_staging", "x-sendgrid://staging"
MARTS_ASSET_NAME, MARTS_ASSET_URI = "sendgrid_marts", "x-sendgrid://marts"
#: Connection (type http) the extract DAG uses to list connections through the Airflow REST API.
AIRFLOW_API_CONN_ID = "sendgrid_airflow_api"
#: Variable listing the ids of ``sendgrid`` connections kept outside the metadata database.
TENANTS_VARIABLE = "sendgrid_tenants"
#: Alert settings (Airflow Variables).
ALERT_RECIPIENTS_VARIABLE = "sendgrid_alert_recipients"
ALERT_SLACK_VARIABLE = "sendgrid_alert_slack_conn_id"
RECONNECT_REMINDER_VARIABLE = "sendgrid_reconnect_reminder_hours"


def dbt_runs_dir() -> Path:
    """Folder with one sub-folder of dbt artifacts (``run_results.json``, ``dbt.log``) per run.

    ``.local/dbt/runs`` unless the environment variable :data:`DBT_RUNS_DIR_ENV` names another
    (read on each call, so a worker's environment decides).
    """
    return Path(os.environ.get(DBT_RUNS_DIR_ENV) or LOCAL_DIR / "dbt" / "runs")


def dbt_vars(**overrides: Any) -> dict[str, Any]:
    """The dbt vars that carry this module's names into the dbt project.

    Args:
        **overrides: Further vars (e.g. ``sendgrid_as_of``); ``None`` values are dropped.

    Returns:
        A JSON-serializable mapping for ``dbt --vars``.
    """
    values: dict[str, Any] = {
        "sendgrid_staging_schema": STAGING_SCHEMA,
        "sendgrid_marts_schema": MARTS_SCHEMA,
        "sendgrid_bi_reader_role": BI_READER_ROLE,
        "sendgrid_build_status_table": BUILD_STATUS_TABLE,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return values


__all__ = [
    "AIRFLOW_API_CONN_ID",
    "ALERT_RECIPIENTS_VARIABLE",
    "ALERT_SLACK_VARIABLE",
    "API_POOL",
    "API_POOL_SLOTS",
    "AS_OF_EXTRA",
    "AS_OF_VAR",
    "BI_READER_ROLE",
    "BUILD_STATUS_TABLE",
    "CONNECT_APP_PREFIX",
    "CONNECT_BASE_URL_VARIABLE",
    "CONNECT_PAGE_PATH",
    "CONN_TYPE",
    "DAGS_DIR",
    "DBT_MANIFEST",
    "DBT_MANIFEST_COMMAND",
    "DBT_PROJECT_DIR",
    "DBT_RUNS_DIR_ENV",
    "DBT_SCHEMA",
    "DBT_THREADS",
    "EXTRACT_DAG_ID",
    "EXTRACT_MAX_BATCHES",
    "EXTRACT_TASK_TIMEOUT",
    "EXTRACT_TENANT_THREADS",
    "LOCAL_DIR",
    "MARTS_ASSET_NAME",
    "MARTS_ASSET_URI",
    "MARTS_SCHEMA",
    "PROJECT_DIR_ENV",
    "PROJECT_ROOT",
    "RECONNECT_REMINDER_VARIABLE",
    "SNAPSHOT_HOLD_MIN_KEYS",
    "SNAPSHOT_HOLD_SHARE",
    "STAGING_ASSET_NAME",
    "STAGING_ASSET_URI",
    "STAGING_SCHEMA",
    "TENANTS_VARIABLE",
    "TENANT_LOCK_WAIT_SECONDS",
    "TRANSFORM_DAG_ID",
    "WAREHOUSE_CONN_ENV",
    "WAREHOUSE_CONN_ID",
    "WAREHOUSE_LOCK_TIMEOUT_SECONDS",
    "dbt_runs_dir",
    "dbt_vars",
]
