"""A tiny DAG that proves the distributed topology: parallel tasks spread over the workers."""

from __future__ import annotations

import socket
import time

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="cluster_probe",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_tasks=16,
    tags=["deploy-test"],
)
def cluster_probe():
    @task(pool="sendgrid_api")
    def work(i: int) -> dict:
        time.sleep(2)
        return {"i": i, "fqdn": socket.getfqdn()}

    @task
    def collect(results: list[dict]) -> int:
        assert sorted(r["i"] for r in results) == list(range(8))
        return len(results)

    collect(work.expand(i=list(range(8))))


cluster_probe()
