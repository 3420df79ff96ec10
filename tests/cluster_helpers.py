"""A started local Airflow cluster for a test fixture (``deploy.local_cluster``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from deploy.local_cluster import ClusterConfig, ClusterError, LocalCluster


@contextmanager
def running_cluster(config: ClusterConfig, timeout: float) -> Iterator[LocalCluster]:
    """Start a cluster (a start failure fails the test with its diagnostics), stop it after.

    Args:
        config: What to start.
        timeout: Seconds the start may take.

    Yields:
        The started cluster.
    """
    instance = LocalCluster(config)
    try:
        instance.start(timeout=timeout)
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield instance
    finally:
        instance.stop()
