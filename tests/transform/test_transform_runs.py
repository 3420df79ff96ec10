"""The transform DAG run for real (``dag.test()``: real Airflow tasks, real dbt, real PostgreSQL).

One run on the hand-made staging set with one broken record: the grid shows every model's
outcome, the failing dbt test fails exactly its model's task, dbt's skips show as skipped, and
dbt's ``run_results.json`` stays in the run's folder. (The scheduler path, with the triggerer
and clearing a task, is in ``test_transform_scheduler.py``.)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest

from tests.transform.staging_data import build_scenario, create_staging

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_FILE = REPO_ROOT / "dags" / "sendgrid_transform.py"
#: The staging data's "now" (never the wall clock): half an hour before the run's as-of.
PINNED_NOW = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC)
BROKEN = "staging.stg_sendgrid__api_keys"
#: What dbt skips when BROKEN's test fails (its dbt descendants).
SKIPPED = {
    "marts.dim_sendgrid_api_keys",
    "reporting.rpt_sendgrid_api_key_summary",
    "reporting.rpt_sendgrid_api_keys_flagged",
}

pytestmark = pytest.mark.slow


def break_api_keys(target) -> None:
    """An API key record without ``api_key_id`` breaks ``not_null_stg_sendgrid__api_keys_...``."""
    with psycopg.connect(target.conninfo()) as conn:
        conn.execute(
            "insert into sendgrid_staging.api_keys (tenant_id, record_key, record_hash, record,"
            " first_seen_at, last_seen_at, extracted_at, run_id) values ('t01-acme-retail',"
            " 'ghost-key', 'h', '{\"name\": \"key without id\"}', now(), now(), now(), 'manual')"
        )


def test_a_failing_dbt_test_fails_its_model_task_and_dbt_skips_show(
    warehouse, airflow_home, tmp_path, monkeypatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from sendgrid_elt.dbt_results import run_dir, slowest_models

    monkeypatch.setenv("SENDGRID_DBT_RUNS_DIR", str(tmp_path / "runs"))
    create_staging(warehouse)
    staging, _ = build_scenario(PINNED_NOW)
    staging.write(warehouse)
    break_api_keys(warehouse)

    dag = DagBag(dag_folder=str(DAG_FILE)).dags["sendgrid_transform"]
    run = dag.test()

    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert set(states) == set(dag.task_ids)  # every model has its outcome in the grid
    assert states[BROKEN] == "failed"
    assert {t for t, s in states.items() if s == "skipped"} == SKIPPED
    assert {t for t, s in states.items() if s == "failed"} == {BROKEN, "publish_marts"}
    assert states["dbt_build"] == "success"  # dbt ran; the failure belongs to the model
    assert states["publish_marts"] == "failed"  # no marts Asset event; the run fails
    assert states["reporting.rpt_sendgrid_utilization_overview"] == "success"
    # the overage alerts wait on their forecast only: an unrelated failure does not stop them
    assert states["send_overage_alerts"] == "success"
    assert str(run.state) == "failed"

    folder = run_dir(run.run_id)
    assert folder.parent == tmp_path / "runs"
    results = json.loads((folder / "run_results.json").read_text())["results"]
    failed = [r["unique_id"] for r in results if r["status"] == "fail"]
    assert any("not_null_stg_sendgrid__api_keys_api_key_id" in uid for uid in failed)
    assert (folder / "dbt.log").stat().st_size > 0
    slowest = slowest_models(folder)
    assert len(slowest) == 3
    assert slowest[0][1] >= slowest[1][1] >= slowest[2][1] > 0


def test_a_transform_before_the_first_extract_after_an_upgrade_migrates_staging(
    warehouse, airflow_home, tmp_path, monkeypatch
) -> None:
    """A manual transform run right after an upgrade: the models read columns only the new
    version's staging has (``stream_status.last_ok_run_id``), and ``connection_health`` may not
    exist yet. The build brings staging up to date first, so the run succeeds on empty marts
    instead of failing until an extract has run.
    """
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("SENDGRID_DBT_RUNS_DIR", str(tmp_path / "runs"))
    create_staging(warehouse)
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:  # the old version's
        conn.execute("alter table sendgrid_staging.stream_status drop column last_ok_run_id")
        conn.execute("drop table sendgrid_staging.connection_health")

    run = DagBag(dag_folder=str(DAG_FILE)).dags["sendgrid_transform"].test()

    failed = [ti.task_id for ti in run.get_task_instances() if str(ti.state) != "success"]
    assert failed == []
    assert str(run.state) == "success"
    with psycopg.connect(warehouse.conninfo()) as conn:
        columns = conn.execute(
            "select column_name from information_schema.columns where table_schema ="
            " 'sendgrid_staging' and table_name = 'stream_status'"
        ).fetchall()
    assert ("last_ok_run_id",) in columns


@pytest.mark.parametrize("run_id", ["..", ".", "", "manual__2026-12-01T00:00:00+00:00", "a/../b"])
def test_a_run_folder_is_always_one_folder_inside_the_runs_folder(
    run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manual run id of ``..`` must not write ``dbt.log`` into the log volume's root."""
    from sendgrid_elt.dbt_results import run_dir

    monkeypatch.setenv("SENDGRID_DBT_RUNS_DIR", str(tmp_path / "runs"))
    folder = run_dir(run_id)
    assert folder.parent == tmp_path / "runs"
    assert folder.name not in ("", ".", "..")
    assert folder.resolve().parent == (tmp_path / "runs").resolve()
