"""1,000 tenants in one run of ``sendgrid_extract_load``: CeleryExecutor (2 workers) and Local.

Starts ``deploy.local_cluster`` (scheduler, dag-processor, api-server and, for Celery, N workers
on the machine's PostgreSQL and Redis) and the SendGrid simulator with ``latency_seconds`` on
every request (SendGrid's round trip, so the figure measures waiting on the API, not CPU).
Registers T tenant connections (a realistic mix, mostly small: tenant i reads the simulator's
large organization when ``i % 10 == 0``, else one of its small ones) and the REST API connection
the run lists them with, triggers the extract and waits for it: first every tenant's first sync
(about 13 months of history each), then, the simulator's clock a day later, the daily
incremental run the schedule makes. Prints per executor and run:

* **tenants/min** = tenants ``ok`` in ``extract_run_tenants`` / (trigger -> run end), and the
  ratio to the target of 200 tenants/min (1,000 tenants in <= 5 minutes);
* **requests/s** = the run's SendGrid requests (summary rows) / wall seconds;
* **task instances** (all of the run, and the ``extract_load`` batches);
* **scheduler seconds per task instance**: scheduler CPU / task instances, and the median
  ``queued_dttm - scheduled_dttm``.

    .venv/bin/python -m bench.bench_tenants --tenants 100 --executors celery
    .venv/bin/python -m bench.bench_tenants --tenants 1000 --executors celery,local

Each run stops at ``--time-budget`` seconds (then reported as partial with the rate so far).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.bench_distributed import Sampler  # noqa: E402
from bench.postgres import add_pg_url, bench_server  # noqa: E402
from deploy.demo_tenants import register, tenant_connections  # noqa: E402
from deploy.local_cluster import ClusterConfig, ClusterError, LocalCluster  # noqa: E402
from sendgrid_elt.settings import (  # noqa: E402
    AIRFLOW_API_CONN_ID,
    API_POOL,
    EXTRACT_DAG_ID,
    STAGING_SCHEMA,
)

TARGET_TENANTS_PER_MIN = 200.0
#: The runs measured on each cluster: every tenant's first sync (about 13 months of history),
#: then the next day's incremental run (what the schedule runs every day).
RUNS = ("first sync", "daily")
EXECUTORS = {"celery": "CeleryExecutor", "local": "LocalExecutor"}


def connections(accounts: dict, base_url: str, count: int) -> dict[str, dict]:
    """``count`` tenant connections: every tenth reads the large organization, the rest small."""
    orgs = accounts["tenants"]
    sizes = sorted(range(len(orgs)), key=lambda i: len(json.dumps(orgs[i])))
    small, large = sizes[:-1] or sizes, sizes[-1]
    out: dict[str, dict] = {}
    for i in range(count):
        index = large if i % 10 == 0 else small[i % len(small)]
        one = {"tenants": [orgs[index]]}
        out.update(tenant_connections(one, base_url, prefix=f"t{i:05d}_"))
    return out


def run_one(args: Any, executor: str, conns: dict, server: Any, sim: Any) -> list[dict[str, Any]]:
    """Start a cluster with ``executor``, run the extract for every tenant, measure each run.

    The runs: every tenant's first sync, then (the simulator's clock a day later) the daily
    incremental run.
    """
    import psycopg

    warehouse = f"bench_tenants_wh_{os.getpid()}_{executor.lower()}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{warehouse}" with (force)')
        conn.execute(f'create database "{warehouse}"')
    wh_target = server.with_database(warehouse)
    celery = executor == "CeleryExecutor"
    slots = args.workers * args.concurrency if celery else args.pool_slots
    config = ClusterConfig(
        dags_folder=REPO_ROOT / "dags",
        executor=executor,
        workers=args.workers if celery else 0,
        worker_concurrency=args.concurrency,
        triggerer=False,
        pg_url=args.pg_url,
        pools={API_POOL: args.pool_slots},
        parallelism=max(16, slots * 2),
        cron_schedules=False,
        env={
            "AIRFLOW_CONN_SENDGRID_WAREHOUSE": wh_target.airflow_connection_json(),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max(16, slots * 2)),
            "SENDGRID_EXTRACT_MAX_BATCHES": str(args.max_batches),
            "SENDGRID_EXTRACT_TENANT_THREADS": str(args.threads),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        setup=lambda cluster, env: _setup(cluster, env, conns),
        home=Path(tempfile.mkdtemp(prefix="bench-tenants-")),
    )
    print(f"\n== {executor}: {len(conns)} tenants, pool {API_POOL}={args.pool_slots}, "
          f"{args.threads} tenant threads per batch, at most {args.max_batches} batches",
          flush=True)  # fmt: skip
    results = []
    try:
        with LocalCluster(config) as cluster:
            print(f"cluster up in {cluster.timings['start']:.0f}s", flush=True)
            cluster.wait_for_dags([EXTRACT_DAG_ID], timeout=300)
            for kind in RUNS[: args.runs]:
                if kind == "daily":
                    sim.control.advance(1)  # a day of new activity, as before a scheduled run
                result = _measured_run(args, cluster, wh_target, min(slots, args.pool_slots))
                result.update(executor=executor, kind=kind, tenants=len(conns))
                _print_run(result)
                results.append(result)
                if result["partial"]:
                    break
    finally:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{warehouse}" with (force)')
    return results


def _measured_run(args: Any, cluster: LocalCluster, wh_target: Any, slots: int) -> dict:
    """Trigger one extract run, wait for it (at most ``--time-budget``), measure it."""
    with Sampler(cluster, slots) as sampler:
        t0 = time.monotonic()
        run_id = cluster.trigger(EXTRACT_DAG_ID)
        partial = False
        try:
            state = cluster.wait_for_run(
                EXTRACT_DAG_ID, run_id, timeout=args.time_budget, fail_fast=False
            )
        except ClusterError:
            state, partial = "timeout", True
        wall = time.monotonic() - t0
    if partial:
        with contextlib.suppress(ClusterError):
            cluster.api("PATCH", f"/dags/{EXTRACT_DAG_ID}/dagRuns/{run_id}",
                        json={"state": "failed"})  # fmt: skip
    tis = cluster.query(
        "select task_id, extract(epoch from queued_dttm - scheduled_dttm)"
        " from task_instance where dag_id = %s and run_id = %s",
        [EXTRACT_DAG_ID, run_id],
    )
    report = sampler.report()
    outcome = _outcomes(wh_target, run_id)
    sched = [float(s) for _, s in tis if s is not None]
    rate = outcome["ok"] / (wall / 60)
    return {
        "state": state, "partial": partial, "wall": wall, "ok": outcome["ok"],
        "failed": outcome["failed"], "rate": rate, "ratio": rate / TARGET_TENANTS_PER_MIN,
        "requests_per_s": outcome["requests"] / wall, "requests": outcome["requests"],
        "records": outcome["records"], "task_instances": len(tis),
        "batches": sum(1 for t, _ in tis if t == "extract_load"),
        "sched_cpu_per_ti": report["cpu_seconds"].get("scheduler", 0.0) / max(1, len(tis)),
        "sched_latency": statistics.median(sched) if sched else float("nan"),
        "cpu_share": report["cpu_share_of_machine"], "max_db": report["max_db_connections"],
        "machine_cpu": report["machine_cpu_seconds"], "cpu": report["cpu_seconds"],
    }  # fmt: skip


def _print_run(r: dict[str, Any]) -> None:
    cpu = ", ".join(f"{k} {v:.0f}s" for k, v in sorted(r["cpu"].items()))
    print(
        f"{r['kind']} run {r['state']}: {r['ok']}/{r['tenants']} tenants ok ({r['failed']} failed)"
        f" in {r['wall']:.0f}s = {r['rate']:.1f} tenants/min ({r['ratio']:.2f}x the 200/min "
        f"target); {r['records']:,} records; {r['requests']} requests = "
        f"{r['requests_per_s']:.0f} requests/s; {r['task_instances']} task instances "
        f"({r['batches']} batches); scheduler {r['sched_cpu_per_ti']:.2f} CPU s per task "
        f"instance, median scheduled->queued {r['sched_latency']:.1f}s; machine CPU "
        f"{r['cpu_share']:.0%} ({r['machine_cpu']:.0f} CPU s, all processes = "
        f"{r['machine_cpu'] / max(1, r['tenants']):.2f} per tenant); metadata DB connections "
        f"max {r['max_db']}\n  CPU: {cpu}",
        flush=True,
    )


def _setup(cluster: LocalCluster, env: dict[str, str], conns: dict) -> None:
    """Register the tenants, and the API connection a deployment uses to list them.

    With :data:`~sendgrid_elt.settings.AIRFLOW_API_CONN_ID` the run lists its ``sendgrid``
    connections through the REST API (ten pages for 1,000 tenants), as the README's deployment
    does, instead of confirming each id of the ``sendgrid_tenants`` Variable on its own.
    """
    register(conns, airflow=(sys.executable, "-m", "airflow"), env=env)
    env[f"AIRFLOW_CONN_{AIRFLOW_API_CONN_ID.upper()}"] = json.dumps({
        "conn_type": "http", "host": cluster.api_url, "login": "admin",
        "password": cluster.admin_password,
    })  # fmt: skip


def _outcomes(target: Any, run_id: str) -> dict[str, int]:
    import psycopg

    out = {"ok": 0, "failed": 0, "requests": 0, "records": 0}
    with contextlib.suppress(psycopg.Error), psycopg.connect(target.conninfo()) as conn:
        rows = conn.execute(
            "select status, count(*), coalesce(sum(requests), 0), coalesce(sum(records), 0)"  # noqa: S608
            f' from "{STAGING_SCHEMA}".extract_run_tenants where run_id = %s group by status',
            (run_id,),
        ).fetchall()
        for status, n, requests, records in rows:
            out[status] = out.get(status, 0) + int(n)
            out["requests"] += int(requests)
            out["records"] += int(records)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module docstring); print one line per executor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--executors", default="celery,local", help="celery, local or both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="slots per Celery worker")
    parser.add_argument("--pool-slots", type=int, default=4, help="pool sendgrid_api")
    parser.add_argument("--threads", type=int, default=6, help="tenant threads per batch")
    parser.add_argument("--max-batches", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API request")
    parser.add_argument("--time-budget", type=float, default=1800, help="seconds per run")
    parser.add_argument(
        "--runs",
        type=int,
        default=2,
        choices=(1, 2),
        help="1: the first sync only; 2: then the next day's run",
    )
    add_pg_url(parser)
    args = parser.parse_args(argv)
    with bench_server(args.pg_url) as server:
        args.pg_url = server.url()  # the Airflow metadata databases go on the same server
        results = _run_all(args, server)
    print("\nexecutor | run | tenants | wall s | tenants/min | x target | requests/s | task "
          "instances | sched CPU s/TI | state")  # fmt: skip
    for r in results:
        print(
            f"{r['executor']} | {r['kind']} | {r['tenants']} | {r['wall']:.0f} | {r['rate']:.1f} |"
            f" {r['ratio']:.2f} | {r['requests_per_s']:.0f} | {r['task_instances']}"
            f" ({r['batches']} batches) | {r['sched_cpu_per_ti']:.2f} | {r['state']}"
        )
    return 0


def _run_all(args: argparse.Namespace, server: Any) -> list[dict]:
    from sendgrid_simulator.testing import run_simulator

    faults = f"latency_seconds={args.latency}"
    results = []
    with run_simulator(seed=42, scale="tiny", rate_limit="off", faults=faults) as sim:
        conns = connections(sim.accounts, sim.base_url, args.tenants)
        print(f"# bench_tenants: {len(conns)} tenants, simulator latency {args.latency * 1000:.0f}"
              f" ms per request; command: {' '.join(sys.argv)}", flush=True)  # fmt: skip
        for name in args.executors.split(","):
            results += run_one(args, EXECUTORS[name.strip()], conns, server, sim)
    return results


if __name__ == "__main__":
    sys.exit(main())
