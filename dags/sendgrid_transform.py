"""Transform DAG: builds the dbt utilization marts whenever the extract DAG lands new data.

Scheduled on the extract DAG's Asset ``sendgrid_staging``. Cosmos renders the dbt project as
one Airflow task per model (seeds included) with the model's tests right after it, so a
failing test fails its task and the run, visibly, in the grid. The dbt profile is built from
the ``sendgrid_warehouse`` Airflow connection (its ``schema`` field is the database name; the
host may be a Unix-socket directory; an empty password is allowed for trust/peer auth).

Parsing is cheap: Cosmos reads ``dbt_project/target/manifest.json`` (``LoadMode.DBT_MANIFEST``),
no dbt or database call at import. The manifest is regenerated with ``dbt parse`` (no database
connection) only when it is missing or older than a project file, then reused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task
from cosmos import (
    DbtTaskGroup,
    ExecutionConfig,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
)
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from sendgrid_elt.assets import MARTS_ASSET, STAGING_ASSET  # staging: emitted by the extract DAG
from sendgrid_elt.settings import (
    DBT_MANIFEST as MANIFEST,
)
from sendgrid_elt.settings import (
    DBT_PROJECT_DIR as DBT_PROJECT,
)
from sendgrid_elt.settings import (
    DBT_SCHEMA,
    MARTS_ASSET_NAME,
    TRANSFORM_DAG_ID,
    WAREHOUSE_CONN_ID,
)

_PROJECT_FILES = ("*.sql", "*.yml", "*.csv")


def _newest_project_mtime() -> float:
    newest = 0.0
    for folder in ("models", "macros", "seeds", "tests"):
        for pattern in _PROJECT_FILES:
            for path in (DBT_PROJECT / folder).rglob(pattern):
                newest = max(newest, path.stat().st_mtime)
    return max(newest, (DBT_PROJECT / "dbt_project.yml").stat().st_mtime)


def ensure_manifest() -> Path:
    """Return the project's manifest, running ``dbt parse`` first if it is missing or stale."""
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_project_mtime():
        return MANIFEST
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=MANIFEST.parent, prefix=".parse-") as tmp:
        command = [sys.executable, "-c", "from dbt.cli.main import cli; cli()", "parse"]
        command += ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
        command += ["--target-path", tmp, "--log-path", tmp, "--quiet"]
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        subprocess.run(command, check=True, capture_output=True, env=env)
        os.replace(Path(tmp) / "manifest.json", MANIFEST)  # atomic: parallel parsers are safe
    return MANIFEST


class WarehouseProfileMapping(PostgresUserPasswordProfileMapping):
    """Cosmos' Postgres mapping, accepting a connection without password (trust/peer auth)."""

    required_fields = ["host", "user", "dbname"]

    def get_dbt_value(self, name: str) -> object:
        value = super().get_dbt_value(name)
        if name == "password" and value is None:
            return ""
        return value


profile_config = ProfileConfig(
    profile_name="sendgrid",
    target_name="airflow",
    profile_mapping=WarehouseProfileMapping(
        conn_id=WAREHOUSE_CONN_ID, profile_args={"schema": DBT_SCHEMA}
    ),
)

with DAG(
    dag_id=TRANSFORM_DAG_ID,
    description="dbt utilization marts (Cosmos), run when the staging Asset is updated",
    schedule=[STAGING_ASSET],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["sendgrid", "dbt"],
    doc_md=__doc__,
) as dag:
    dbt_marts = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT,
            manifest_path=ensure_manifest(),
            project_name="sendgrid_utilization",
            install_dbt_deps=False,
        ),
        profile_config=profile_config,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            should_detach_multiple_parents_tests=True,
            emit_datasets=False,
        ),
    )

    @task(outlets=[MARTS_ASSET])
    def publish_marts() -> str:
        """Mark the marts updated (downstream DAGs and BI refreshes can schedule on it)."""
        return MARTS_ASSET_NAME

    @task
    def send_overage_alerts() -> list[dict]:
        """One alert per tenant and credit period whose projection passes its plan."""
        from sendgrid_elt.overage_alerts import send_overage_alerts

        return send_overage_alerts()

    dbt_marts >> publish_marts() >> send_overage_alerts()
