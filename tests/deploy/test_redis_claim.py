"""Two clusters (two test workers) that find the same dead owner's Redis database cannot both
take it: the stale data is flushed only while the lock key still names the dead owner."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cluster_resources import REDIS_LOCK_KEY
from deploy.local_cluster import ClusterConfig, LocalCluster, redis_at_hand

REDIS_URL = "redis://127.0.0.1:6379"


def test_a_database_claimed_meanwhile_is_not_flushed(tmp_path: Path) -> None:
    if not redis_at_hand(REDIS_URL):
        pytest.fail("no Redis at hand: .ci/run starts the machine's redis-server")
    cluster = LocalCluster(ClusterConfig(dags_folder=tmp_path, redis_url=REDIS_URL,
                                         broker="redis", home=tmp_path / "home"))  # fmt: skip
    cluster._claim_broker()
    try:
        r = cluster._redis(cluster.redis_db)
        r.set("celery-task-of-the-live-cluster", "1")
        dead = "999999999:gone"  # what the other worker read before this cluster claimed it
        cluster._flush_if_owned_by(r, dead)
        assert r.get("celery-task-of-the-live-cluster") == b"1"
        assert r.get(REDIS_LOCK_KEY).decode() != dead
        owner = r.get(REDIS_LOCK_KEY).decode()
        cluster._flush_if_owned_by(r, owner)  # still the named owner: flushed
        assert r.dbsize() == 0
    finally:
        cluster.stop()
