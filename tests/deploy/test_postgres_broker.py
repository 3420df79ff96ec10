"""The Celery topology on a machine with only Python and PostgreSQL: no Redis anywhere.

``make test`` must pass on a fresh machine without a Redis server. The local cluster then takes
its metadata database as Celery's broker (kombu's SQLAlchemy transport): the probe DAG's tasks
run on both workers through it, with the Redis URL pointing at a port where nothing listens and
no ``redis-server`` on ``PATH``.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from deploy.local_cluster import ClusterConfig, ClusterError, LocalCluster, redis_at_hand
from sendgrid_elt.settings import API_POOL
from tests.cluster_helpers import running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
PROBE_DAG = "cluster_probe"


def _closed_port() -> int:
    """A local port where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_redis(monkeypatch: pytest.MonkeyPatch) -> str:
    """A Redis URL nobody answers on this machine, which has no ``redis-server`` to start."""
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **k: None if cmd == "redis-server"
                        else which(cmd, *a, **k))  # fmt: skip
    return f"redis://127.0.0.1:{_closed_port()}"


def test_redis_is_at_hand_only_when_it_answers_or_can_be_started(no_redis: str) -> None:
    assert not redis_at_hand(no_redis)
    assert not redis_at_hand("redis://192.0.2.1:6379")  # not local: nothing to start


def test_auto_falls_back_to_postgres_when_redis_cannot_be_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``redis-server`` is installed but does not start (here: it exits 1): the cluster takes
    the PostgreSQL broker instead of failing."""
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **k: "/bin/false")
    config = ClusterConfig(dags_folder=tmp_path, redis_url=f"redis://127.0.0.1:{_closed_port()}",
                           broker="auto", home=tmp_path / "home")  # fmt: skip
    cluster = LocalCluster(config)
    cluster._claim_broker()
    assert cluster.broker == "postgres"
    assert cluster.redis_db is None
    config = ClusterConfig(dags_folder=tmp_path, redis_url=config.redis_url, broker="redis",
                           home=tmp_path / "home")  # fmt: skip
    with pytest.raises(ClusterError, match="could not start /bin/false"):
        LocalCluster(config)._claim_broker()  # asked for Redis: a clear error


def test_the_queue_row_exists_before_the_workers_start(
    no_redis: str, tmp_path: Path, postgres_server: Any
) -> None:
    """Workers that start together must not race to insert the queue's row: the loser exited
    on ``kombu_queue_name_key`` (CI, 2026-12-06)."""
    config = ClusterConfig(dags_folder=tmp_path, pg_url=postgres_server.url(), redis_url=no_redis,
                           home=tmp_path / "home")  # fmt: skip
    cluster = LocalCluster(config)
    try:
        cluster._claim_broker()
        cluster._create_metadata_db()
        cluster._create_broker_tables()
        assert cluster.query("select name from kombu_queue") == [(cluster.queue,)]
        cluster._create_broker_tables()  # idempotent: a restart finds the row
        assert cluster.query("select count(*) from kombu_queue") == [(1,)]
    finally:
        cluster.stop()


def test_probe_tasks_run_on_both_workers_through_the_postgres_broker(
    no_redis: str, tmp_path: Path, postgres_server: Any
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "cluster_probe.py").symlink_to(Path(__file__).parent / "dags" / "cluster_probe.py")
    config = ClusterConfig(
        dags_folder=dags,
        workers=2,
        worker_concurrency=2,
        triggerer=False,
        pg_url=postgres_server.url(),
        redis_url=no_redis,
        pools={API_POOL: 4},
        home=tmp_path / "airflow-home",
    )
    with running_cluster(config, timeout=240) as cluster:
        assert cluster.broker == "postgres"
        assert cluster.broker_url.startswith("sqla+postgresql")
        cluster.wait_for_dags([PROBE_DAG], timeout=180)
        run_id = cluster.trigger(PROBE_DAG)
        state = cluster.wait_for_run(PROBE_DAG, run_id, timeout=240)
        tis = [t for t in cluster.task_instances(PROBE_DAG) if t["run_id"] == run_id]
        assert state == "success", f"{cluster.task_summary()}\n{cluster.diagnostics()}"
        assert len(tis) == 9
        # every task ran on a worker (one polling worker may prefetch them all: no spread claim)
        assert {t["hostname"] for t in tis} <= {"worker1", "worker2"}, tis
        # the tasks went through kombu's tables in the cluster's own database
        queues = {row[0] for row in cluster.query("select name from kombu_queue")}
        assert cluster.queue in queues
