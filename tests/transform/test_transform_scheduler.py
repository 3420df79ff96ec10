"""The transform DAG under a real scheduler: LocalExecutor, triggerer, REST API, PostgreSQL.

One run is triggered by a ``sendgrid_staging`` asset event (with an ``as_of``) on the
hand-made staging set with one broken record. Then the record is fixed and the failed model's
task is cleared with its downstream tasks, as a data engineer does in the grid: exactly those
tasks rerun, each rebuilding its own dbt nodes on a worker, and the run turns green.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from deploy.local_cluster import ClusterConfig, ClusterError, LocalCluster
from sendgrid_elt.settings import dbt_vars
from tests.cluster_helpers import running_cluster
from tests.scratch_db import scratch_database
from tests.transform.staging_data import build_scenario, create_staging
from tests.transform.test_transform_runs import BROKEN, PINNED_NOW, SKIPPED, break_api_keys

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "sendgrid_transform"
AS_OF = "2026-11-28T00:00:00+00:00"
#: The broken test and what dbt skipped because of it, plus the marts Asset task.
#: What clearing BROKEN with its downstream reruns (the alerts task waits on the forecast model
#: only, which does not read API keys: it ran in the first try and is not rerun).
RERUN = {BROKEN, *SKIPPED, "publish_marts"}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _admin_url(server) -> str:
    """A libpq URL of the server's ``postgres`` database (TCP or Unix socket)."""
    auth = server.user + (f":{server.password}" if server.password else "")
    if server.is_socket:
        return f"postgresql://{auth}@/postgres?host={server.host}&port={server.port}"
    return f"postgresql://{auth}@{server.host}:{server.port}/postgres"


@pytest.fixture(scope="module")
def scenario(postgres_server) -> Iterator:
    with scratch_database(postgres_server, "test_sched") as target:
        create_staging(target)
        staging, _ = build_scenario(PINNED_NOW)
        staging.write(target)
        break_api_keys(target)
        yield target


@pytest.fixture(scope="module")
def cluster(postgres_server, scenario, tmp_path_factory) -> Iterator[LocalCluster]:
    tmp = tmp_path_factory.mktemp("scheduler")
    dags = tmp / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").symlink_to(REPO_ROOT / "dags" / f"{DAG_ID}.py")
    config = ClusterConfig(
        dags_folder=dags,
        executor="LocalExecutor",
        triggerer=True,
        pg_url=_admin_url(postgres_server),
        parallelism=4,
        pools={},
        env={
            "AIRFLOW_CONN_SENDGRID_WAREHOUSE": scenario.airflow_connection_json(),
            "SENDGRID_DBT_RUNS_DIR": str(tmp / "runs"),
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "900",
        },
        home=tmp / "airflow-home",
    )
    with running_cluster(config, timeout=300) as instance:
        yield instance


def _tis(cluster: LocalCluster, run_id: str) -> dict[str, dict]:
    rows = cluster.query(
        "select task_id, state, try_number, coalesce(hostname, ''), end_date from task_instance"
        " where dag_id = %s and run_id = %s",
        [DAG_ID, run_id],
    )
    keys = ("state", "try_number", "hostname", "end_date")
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


def _task_log(cluster: LocalCluster, run_id: str, task_id: str) -> str:
    folder = cluster.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*.log")))


def _log_with(cluster: LocalCluster, run_id: str, task_id: str, text: str) -> str:
    """The task's log once it holds ``text`` (or after a minute: the caller's assert fails).

    A task's state is set before its last log lines reach the file: a trigger's lines travel
    from the triggerer's runner process to its supervisor, a worker task's from the task
    process to its supervisor.
    """
    deadline = time.monotonic() + 60
    log = _task_log(cluster, run_id, task_id)
    while text not in log and time.monotonic() < deadline:
        time.sleep(1)
        log = _task_log(cluster, run_id, task_id)
    return log


def _asset_triggered_run(cluster: LocalCluster) -> str:
    (asset,) = cluster.api("GET", "/assets", params={"name_pattern": "sendgrid_staging"})["assets"]
    cluster.api("POST", "/assets/events", json={"asset_id": asset["id"], "extra": {"as_of": AS_OF}})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = cluster.query("select run_id from dag_run where dag_id = %s", [DAG_ID])
        if runs:
            return runs[0][0]
        time.sleep(1)
    pytest.fail(f"no asset-triggered run\n{cluster.diagnostics()}", pytrace=False)


def test_failed_model_shows_in_the_grid_and_clearing_it_reruns_just_it_and_its_downstream(
    cluster: LocalCluster, scenario
) -> None:
    try:
        cluster.wait_for_dags([DAG_ID], timeout=240)
        run_id = _asset_triggered_run(cluster)
        state = cluster.wait_for_run(DAG_ID, run_id, timeout=900, fail_fast=False)
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    first = _tis(cluster, run_id)
    assert state == "failed", cluster.task_summary()
    assert {t for t, ti in first.items() if ti["state"] == "failed"} == {BROKEN, "publish_marts"}
    assert {t for t, ti in first.items() if ti["state"] == "skipped"} == SKIPPED
    assert {ti["state"] for t, ti in first.items() if t not in RERUN} == {"success"}
    # the model tasks ended in the triggerer: only the build, publish and alerts had a worker
    assert {t for t, ti in first.items() if ti["hostname"]} == {
        "dbt_build", "publish_marts", "send_overage_alerts"}  # fmt: skip
    test_id = "not_null_stg_sendgrid__api_keys_api_key_id"
    assert test_id in _log_with(cluster, run_id, BROKEN, test_id)
    # the asset event's as-of reached dbt, and dbt's run_results.json is kept for the run
    runs = Path(cluster.config.env["SENDGRID_DBT_RUNS_DIR"])
    (folder,) = runs.iterdir()
    results = json.loads((folder / "run_results.json").read_text())
    assert results["args"]["vars"] == dbt_vars(sendgrid_as_of=AS_OF)
    assert str(folder) in _log_with(cluster, run_id, "dbt_build", str(folder))

    with psycopg.connect(scenario.conninfo()) as conn:
        conn.execute("delete from sendgrid_staging.api_keys where record_key = 'ghost-key'")
    cluster.api(
        "POST",
        f"/dags/{DAG_ID}/clearTaskInstances",
        json={"dry_run": False, "dag_run_id": run_id, "task_ids": [BROKEN],
              "include_downstream": True, "only_failed": False, "reset_dag_runs": True},
    )  # fmt: skip
    try:
        state = cluster.wait_for_run(DAG_ID, run_id, timeout=900, fail_fast=False)
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    second = _tis(cluster, run_id)
    assert state == "success", cluster.task_summary()
    rerun = {t for t in second if second[t]["try_number"] != first[t]["try_number"]}
    assert rerun == RERUN
    assert all(second[t]["end_date"] == first[t]["end_date"] for t in second if t not in RERUN)
    assert {ti["state"] for ti in second.values()} == {"success"}
    # each cleared model task rebuilt its own nodes with dbt, on a worker
    rebuilt = {p.name for p in folder.iterdir() if p.name.startswith("rebuild-")}
    assert rebuilt == {f"rebuild-{t}-try2" for t in RERUN - {"publish_marts"}}
    rebuild = json.loads((folder / f"rebuild-{BROKEN}-try2" / "run_results.json").read_text())
    assert rebuild["args"]["vars"] == dbt_vars(sendgrid_as_of=AS_OF)
    assert {r["status"] for r in rebuild["results"]} <= {"success", "pass"}
