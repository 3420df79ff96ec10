"""The production topology, for real, without containers (issue 9).

``deploy.local_cluster`` starts what docker-compose.yaml runs: ``airflow scheduler``,
``airflow dag-processor``, ``airflow api-server`` and **two** ``airflow celery worker``
processes (distinct ``--celery-hostname``), CeleryExecutor with the broker on the machine's
Redis (a dedicated DB number and queue) and the metadata DB + Celery result backend in a fresh
database of the machine's PostgreSQL. The warehouse is another fresh database (connection
``sendgrid_warehouse``); the tenants are the simulator's organizations registered the way the
compose ``demo-tenants`` service does it (connections in the metadata DB + the
``sendgrid_tenants`` Variable), so the workers read them through the execution API.

1. ``cluster_probe`` (tests/deploy/dags): eight parallel tasks must land on both workers.
2. ``sendgrid_extract_load`` is triggered through the REST API; the scheduler runs it on the
   workers; its ``sendgrid_staging`` asset event makes the scheduler start
   ``sendgrid_transform`` (one ``dbt build`` on a worker, model tasks in the triggerer).
3. Both runs succeed, both workers executed tasks (``task_instance.hostname`` and, as an
   independent record, Celery's ``celery_taskmeta.worker``), and the marts equal the
   simulator's ground truth.

Everything is torn down by the fixture (process groups, databases, Redis DB), and the test
stops itself after ``DEADLINE`` seconds (``SENDGRID_TOPOLOGY_DEADLINE``) with the tail of every
process log and of the failing task logs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from deploy.demo_tenants import conn_id_for, register, tenant_connections
from deploy.local_cluster import (
    ClusterConfig,
    ClusterError,
    LocalCluster,
    celery_needs_compat_shim,
    free_port,
)
from sendgrid_elt.batches import split
from sendgrid_elt.settings import API_POOL, STAGING_SCHEMA
from tests.cluster_helpers import running_cluster
from tests.scratch_db import scratch_database

from .deploy_helpers import REPO_ROOT
from .marts_truth import marts_vs_truth

#: Seconds the pipeline scenario may take once the cluster is up (the test then fails with the
#: tail of every process log). Measured on a 2-CPU machine: cluster start ~50 s, probe ~20 s,
#: extract ~10 s; the transform DAG dominates: ~200 s in Cosmos watcher mode, ~11 min with one
#: Cosmos task per model (``TestBehavior.BUILD``, ~75 dbt invocations of ~20 s each).
DEADLINE = float(os.environ.get("SENDGRID_TOPOLOGY_DEADLINE", "2400"))
pytestmark = [pytest.mark.slow, pytest.mark.timeout(int(DEADLINE) + 420)]
PROBE_DAG = "cluster_probe"
EXTRACT_DAG = "sendgrid_extract_load"
TRANSFORM_DAG = "sendgrid_transform"
SIM_SCALE = "tiny"  # three organizations: Pro with subusers, Essentials, Free


def _dags_folder(tmp_path: Path) -> Path:
    """The real DAG files (symlinked: they find dbt_project next to their real path) plus the
    probe DAG."""
    folder = tmp_path / "dags"
    folder.mkdir()
    for dag_file in [*sorted((REPO_ROOT / "dags").glob("*.py")),
                     Path(__file__).parent / "dags" / "cluster_probe.py"]:  # fmt: skip
        (folder / dag_file.name).symlink_to(dag_file)
    return folder


@pytest.fixture(scope="module")
def simulator() -> Iterator[Any]:
    from sendgrid_simulator.testing import run_simulator

    # 0.0.0.0-free: the workers are local processes, 127.0.0.1 is reachable from them
    with run_simulator(seed=42, scale=SIM_SCALE) as sim:
        yield sim


@pytest.fixture(scope="module")
def warehouse_db(postgres_server: Any) -> Iterator[Any]:
    # the suite's server: embedded unless TEST_POSTGRES_URL is set
    name = f"deploy_wh_{os.getpid()}_{free_port()}"
    with scratch_database(postgres_server, name=name) as target:
        yield target


@pytest.fixture(scope="module")
def tenants(simulator: Any) -> dict[str, dict]:
    return tenant_connections(simulator.accounts, simulator.base_url, extra={"max_retries": 8})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres_server, warehouse_db, tenants) -> Iterator[LocalCluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    config = ClusterConfig(
        dags_folder=_dags_folder(tmp),
        workers=2,
        worker_concurrency=2,
        pg_url=postgres_server.url(),
        pools={API_POOL: 4},
        env={
            "AIRFLOW_CONN_SENDGRID_WAREHOUSE": warehouse_db.airflow_connection_json(),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            # the DAG files do not change during the test: parse once, keep the CPU for tasks
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "900",
        },
        home=tmp / "airflow-home",
        # like the compose demo-tenants service: connections in the metadata DB + Variable
        # (registered before the processes start, while the machine is idle)
        setup=lambda cl, env: register(tenants, airflow=(sys.executable, "-m", "airflow"), env=env),
    )
    if celery_needs_compat_shim():
        print(
            "NOTE: installed celery lacks celery.backends.database.retry (celery 5.7 vs "
            "apache-airflow-providers-celery 3.26.0); the cluster uses deploy/compat until "
            "requirements pin celery==5.6.3"
        )
    with running_cluster(config, timeout=240) as instance:
        yield instance


def _fail(cluster: LocalCluster, message: str) -> None:
    pytest.fail(f"{message}\n{cluster.task_summary()}\n{cluster.diagnostics()}", pytrace=False)


def _hosts(tis: list[dict]) -> tuple[set[str], set[str]]:
    """Hostnames of the workers that ran successful tasks (Airflow's and Celery's record).

    Task instances the scheduler completes itself (EmptyOperator) have no hostname."""
    hostnames = {t["hostname"] for t in tis if t["state"] == "success" and t["hostname"]}
    celery = {(t["celery_worker"] or "").split("@")[0] for t in tis if t["state"] == "success"}
    return hostnames, celery - {""}


def test_probe_tasks_spread_over_both_workers(cluster: LocalCluster) -> None:
    try:
        cluster.wait_for_dags([PROBE_DAG], timeout=180)
        run_id = cluster.trigger(PROBE_DAG)
        state = cluster.wait_for_run(PROBE_DAG, run_id, timeout=240)
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    if state != "success":
        _fail(cluster, f"{PROBE_DAG} ended {state}")
    tis = [t for t in cluster.task_instances(PROBE_DAG) if t["run_id"] == run_id]
    assert len(tis) == 9
    assert all(t["queue"] == cluster.queue for t in tis)
    hostnames, celery = _hosts(tis)
    assert hostnames == {"worker1", "worker2"}, tis
    assert celery == {"worker1", "worker2"}, tis
    for t in tis:  # Airflow's and Celery's record of the executing worker agree
        assert t["celery_worker"].startswith(t["hostname"] + "@"), t
    health = cluster.health()
    assert health["scheduler"]["status"] == "healthy"
    assert health["dag_processor"]["status"] == "healthy"


def test_pipeline_runs_on_the_workers_and_marts_equal_the_truth(
    cluster: LocalCluster, simulator: Any, warehouse_db: Any, tenants: dict[str, dict]
) -> None:
    conns = tenants
    started = time.monotonic()
    try:
        # Unpausing the daily DAG makes the scheduler create its latest scheduled run itself;
        # trigger one through the REST API only if it did not.
        cluster.wait_for_dags([EXTRACT_DAG, TRANSFORM_DAG], timeout=180)
        # the run's as-of (its data interval end) is the simulator's now, as for the truth
        extract_run = _first_run(cluster, EXTRACT_DAG, wait=45) or cluster.trigger(
            EXTRACT_DAG, logical_date=simulator.control.clock()["as_of"]
        )
        remaining = DEADLINE - (time.monotonic() - started)
        state = cluster.wait_for_run(EXTRACT_DAG, extract_run, timeout=remaining)
        if state != "success":
            _fail(cluster, f"{EXTRACT_DAG} ended {state}")
        transform_run = _wait_for_asset_triggered_run(cluster, TRANSFORM_DAG, started)
        remaining = DEADLINE - (time.monotonic() - started)
        state = cluster.wait_for_run(TRANSFORM_DAG, transform_run, timeout=remaining)
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    if state != "success":
        _fail(cluster, f"{TRANSFORM_DAG} ended {state}")

    tis = [t for t in cluster.task_instances() if t["dag_id"] in (EXTRACT_DAG, TRANSFORM_DAG)]
    extract_tis = [t for t in tis if t["dag_id"] == EXTRACT_DAG]
    mapped = [t for t in extract_tis if t["task_id"] == "extract_load"]
    assert len(mapped) == len(split(sorted(conns))), extract_tis  # one per batch of tenants
    hostnames, celery = _hosts(tis)
    assert hostnames == {"worker1", "worker2"}, sorted((t["task_id"], t["hostname"]) for t in tis)
    assert celery == {"worker1", "worker2"}
    print(
        f"pipeline on the cluster: {len(conns)} tenants, {len(tis)} task instances "
        f"({sum(t['hostname'] == 'worker1' for t in tis)} on worker1, "
        f"{sum(t['hostname'] == 'worker2' for t in tis)} on worker2) in "
        f"{time.monotonic() - started:.0f}s"
    )
    truth = simulator.control.truth()
    conn_id_of = {t["tenant_id"]: conn_id_for(t["tenant_id"]) for t in truth["tenants"]}
    assert set(conn_id_of.values()) == set(conns)
    with psycopg.connect(warehouse_db.conninfo(), autocommit=True) as conn:
        problems = marts_vs_truth(conn, truth, conn_id_of)
        outcomes = conn.execute(
            f"select tenant_id, status from {STAGING_SCHEMA}.extract_run_tenants "  # noqa: S608
            "where run_id = %s",
            (extract_run,),
        ).fetchall()
    assert dict(outcomes) == dict.fromkeys(conns, "ok")
    assert problems == [], "marts differ from the simulator truth:\n" + "\n".join(problems)


def _first_run(cluster: LocalCluster, dag_id: str, wait: float) -> str | None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        rows = cluster.query(
            "select run_id from dag_run where dag_id = %s order by id limit 1", [dag_id]
        )
        if rows:
            return rows[0][0]
        time.sleep(1)
    return None


def _wait_for_asset_triggered_run(cluster: LocalCluster, dag_id: str, started: float) -> str:
    while time.monotonic() - started < DEADLINE:
        rows = cluster.query(
            "select run_id from dag_run where dag_id = %s and run_type = 'asset_triggered'",
            [dag_id],
        )
        if rows:
            return rows[0][0]
        time.sleep(1)
    _fail(cluster, f"the staging asset event did not trigger {dag_id}")
    raise AssertionError  # unreachable
