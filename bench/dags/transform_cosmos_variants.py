"""The Cosmos renderings of the dbt project that ``bench_transform.py --cosmos`` compares.

* ``cosmos_local_build``: what ``sendgrid_transform`` was before issue 15: Cosmos
  ``ExecutionMode.LOCAL``, one ``dbt build`` task per model (``TestBehavior.BUILD``).
* ``cosmos_watcher``: Cosmos ``ExecutionMode.WATCHER``: one ``dbt build`` producer task and a
  deferrable sensor per model and per model's tests (WATCHER has no BUILD behaviour).

Same project, manifest and warehouse connection as the pipeline's DAG; not scheduled.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from sendgrid_elt.settings import DBT_PROJECT_DIR, DBT_SCHEMA, DBT_THREADS, WAREHOUSE_CONN_ID

PROJECT = DBT_PROJECT_DIR


class WarehouseProfileMapping(PostgresUserPasswordProfileMapping):
    """Cosmos' Postgres mapping, accepting a connection without password (trust auth)."""

    required_fields = ["host", "user", "dbname"]

    def get_dbt_value(self, name: str) -> object:
        value = super().get_dbt_value(name)
        return "" if name == "password" and value is None else value


PROFILE = ProfileConfig(
    profile_name="sendgrid",
    target_name="airflow",
    profile_mapping=WarehouseProfileMapping(
        conn_id=WAREHOUSE_CONN_ID, profile_args={"schema": DBT_SCHEMA, "threads": DBT_THREADS}
    ),
)

for dag_id, mode, behavior in (
    ("cosmos_local_build", ExecutionMode.LOCAL, TestBehavior.BUILD),
    ("cosmos_watcher", ExecutionMode.WATCHER, TestBehavior.AFTER_EACH),
):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
        DbtTaskGroup(
            group_id="dbt",
            project_config=ProjectConfig(
                dbt_project_path=PROJECT,
                manifest_path=PROJECT / "target" / "manifest.json",
                project_name="sendgrid_utilization",
                install_dbt_deps=False,
            ),
            profile_config=PROFILE,
            execution_config=ExecutionConfig(
                execution_mode=mode, invocation_mode=InvocationMode.DBT_RUNNER
            ),
            render_config=RenderConfig(
                load_method=LoadMode.DBT_MANIFEST,
                test_behavior=behavior,
                should_detach_multiple_parents_tests=True,
                emit_datasets=False,
            ),
        )
