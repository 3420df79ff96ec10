"""Tenants per minute on the distributed topology (CeleryExecutor, 2 workers) as tenants grow.

Starts ``deploy.local_cluster`` (scheduler, dag-processor, api-server, N Celery workers on the
machine's PostgreSQL and Redis) and the SendGrid simulator, registers T tenant connections the
way the compose ``demo-tenants`` service does, triggers ``sendgrid_extract_load`` for exactly
those tenants (``tenants`` param) through the REST API, and measures the run:

* **tenants/min** = T / (trigger -> run success);
* **worker slots**: share of samples with every slot busy and task instances still queued;
* **scheduler loop**: median ``queued_dttm - scheduled_dttm`` (scheduler decision latency)
  and ``start_date - queued_dttm`` (broker + worker pickup);
* **CPU** seconds used by each component (scheduler, dag-processor, api-server, workers with
  their task processes, PostgreSQL) and the machine's CPU saturation;
* **DB**: metadata DB connections and PostgreSQL CPU.

The bottleneck named is the resource that saturates first. The simulator serves only a few
distinct organizations, so tenant i reads organization ``i mod k`` through its own connection
(distinct tenant ids in the warehouse; the simulator's rate limits are off, so the figures
measure the platform, not SendGrid's limits). ``sendgrid_transform`` is measured once at the
end (its cost depends on the data volume, not on scheduling).

    .venv/bin/python -m bench.bench_distributed --max-tenants 100
    .venv/bin/python -m bench.bench_distributed --sizes 10,100,1000 --time-budget 1800

Each size stops at ``--time-budget`` seconds (the run is then reported as partial with the
rate measured so far), so the whole benchmark is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.postgres import add_pg_url, bench_server  # noqa: E402
from deploy.demo_tenants import TENANTS_VARIABLE, register, tenant_connections  # noqa: E402
from deploy.local_cluster import (  # noqa: E402
    ClusterConfig,
    ClusterError,
    LocalCluster,
)
from sendgrid_elt.settings import API_POOL  # noqa: E402
from sendgrid_elt.settings import EXTRACT_DAG_ID as EXTRACT_DAG  # noqa: E402
from sendgrid_elt.settings import TRANSFORM_DAG_ID as TRANSFORM_DAG  # noqa: E402


class Sampler:
    """Samples task-instance states and per-component CPU time once a second."""

    def __init__(self, cluster: LocalCluster, slots: int) -> None:
        self.cluster = cluster
        self.slots = slots
        self.samples: list[dict[str, int]] = []
        self.cpu_start = self._cpu()
        self.wall_start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _cpu(self) -> dict[str, float]:
        """CPU seconds per component (a process and its descendants, reaped ones included)."""
        import psutil

        out: dict[str, float] = {"machine (all processes)": _machine_busy()}
        for proc in self.cluster.processes:
            if proc.popen is None:
                continue
            key = "workers" if proc.name.startswith("worker") else proc.name
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(proc.popen.pid)
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        out[key] = out.get(key, 0.0) + _tree_seconds(p.cpu_times())
        with contextlib.suppress(psutil.Error):  # the simulator serves from this process
            t = psutil.Process(os.getpid()).cpu_times()
            out["simulator (SendGrid API)"] = t.user + t.system
        for p in psutil.process_iter(["name"]):
            if p.info["name"] and p.info["name"].startswith("postgres"):
                with contextlib.suppress(psutil.Error):  # the postmaster: its ended backends
                    out["postgresql"] = out.get("postgresql", 0.0) + _tree_seconds(p.cpu_times())
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                rows = self.cluster.query(
                    "select state, count(*) from task_instance where dag_id = %s group by state",
                    [EXTRACT_DAG],
                )
                sample = {str(s): int(n) for s, n in rows}
                sample["db_connections"] = self.cluster.query(
                    "select count(*) from pg_stat_activity where datname = current_database()"
                )[0][0]
                self.samples.append(sample)
            self._stop.wait(1.0)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.cpu_end = self._cpu()
        self.wall = time.monotonic() - self.wall_start

    def report(self) -> dict[str, Any]:
        cpu = {k: self.cpu_end.get(k, 0.0) - self.cpu_start.get(k, 0.0) for k in self.cpu_end}
        machine = cpu.pop("machine (all processes)")
        busy = [s for s in self.samples if s.get("running", 0) >= self.slots]
        saturated = [s for s in busy if s.get("queued", 0) + s.get("scheduled", 0) > 0]
        return {
            "cpu_seconds": cpu,
            "cpu_share_of_machine": machine / (self.wall * (os.cpu_count() or 1)),
            "machine_cpu_seconds": machine,
            "slots_saturated_share": len(saturated) / max(1, len(self.samples)),
            "max_running": max((s.get("running", 0) for s in self.samples), default=0),
            "max_db_connections": max(
                (s.get("db_connections", 0) for s in self.samples), default=0
            ),
            "wall": self.wall,
        }


def _tree_seconds(t: Any) -> float:
    """User + system seconds of a process and of its children that ended (task processes)."""
    return t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)


def _machine_busy() -> float:
    """CPU seconds every process of the machine used since boot (all cores)."""
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)


def _scheduled_run(cluster: LocalCluster, t_unpause: float) -> tuple[str, float]:
    """The run the scheduler created on unpause, else one triggered through the REST API.

    Returns the run id and the time it was started (unpause or trigger).
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = cluster.query(
            "select run_id from dag_run where dag_id = %s order by id limit 1", [EXTRACT_DAG]
        )
        if rows:
            return rows[0][0], t_unpause
        time.sleep(1)
    return cluster.trigger(EXTRACT_DAG), time.monotonic()


def latencies(cluster: LocalCluster, run_id: str) -> dict[str, float]:
    rows = cluster.query(
        "select extract(epoch from queued_dttm - scheduled_dttm),"
        " extract(epoch from start_date - queued_dttm),"
        " extract(epoch from end_date - start_date)"
        " from task_instance where dag_id = %s and run_id = %s and task_id = 'extract_load'"
        " and state = 'success'",
        [EXTRACT_DAG, run_id],
    )

    def med(i: int) -> float:
        values = [float(r[i]) for r in rows if r[i] is not None]
        return statistics.median(values) if values else float("nan")

    return {"schedule_s": med(0), "pickup_s": med(1), "task_s": med(2), "tasks": len(rows)}


def name_bottleneck(report: dict[str, Any], lat: dict[str, float], slots: int) -> str:
    cpu = report["cpu_seconds"]
    top = max(cpu, key=cpu.get) if cpu else "?"
    machine = report["cpu_share_of_machine"]
    sim = cpu.get("simulator (SendGrid API)", 0.0) / max(1.0, report["wall"])
    if sim >= 0.7:
        return (
            f"SendGrid API (the simulator, one Python process, used {sim:.0%} of a core; "
            "in production: SendGrid's latency and rate limits)"
        )
    if report["slots_saturated_share"] > 0.5 and machine < 0.85:
        return f"worker slots ({slots} busy with tasks queued; add workers/concurrency/pool)"
    if machine >= 0.85:
        return (
            f"CPU of this machine ({machine:.0%} of {os.cpu_count()} CPUs busy; largest "
            f"consumer: {top} {cpu.get(top, 0):.0f}s) - more hosts/workers would help"
        )
    if lat["schedule_s"] > max(2.0, lat["task_s"]):
        return f"scheduler loop (median {lat['schedule_s']:.1f}s from scheduled to queued)"
    if lat["pickup_s"] > max(2.0, lat["task_s"]):
        return f"broker/worker pickup (median {lat['pickup_s']:.1f}s queued -> running)"
    if "postgresql" in cpu and cpu["postgresql"] >= max(cpu.values()):
        return "metadata/warehouse database (PostgreSQL uses the most CPU)"
    return f"task duration ({lat['task_s']:.1f}s per tenant; {top} uses most CPU)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="tenant counts to measure")
    parser.add_argument("--max-tenants", type=int, default=100, help="skip larger sizes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="slots per worker")
    parser.add_argument("--pool-slots", type=int, default=8, help="pool sendgrid_api")
    parser.add_argument("--time-budget", type=float, default=900, help="seconds per size")
    parser.add_argument("--transform", action="store_true", help="also time the dbt DAG once")
    add_pg_url(parser)
    args = parser.parse_args(argv)
    with bench_server(args.pg_url) as server:
        args.pg_url = server.url()  # the Airflow metadata database goes on the same server
        return _run(args, server)


def _run(args: argparse.Namespace, server: Any) -> int:
    import psycopg

    from sendgrid_simulator.testing import run_simulator

    sizes = [int(s) for s in args.sizes.split(",") if int(s) <= args.max_tenants]
    warehouse = f"bench_wh_{os.getpid()}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(f'create database "{warehouse}"')
    slots = args.workers * args.concurrency
    results = []
    try:
        with run_simulator(seed=42, scale="demo", rate_limit="off") as sim:
            orgs = sim.accounts
            all_conns: dict[str, dict] = {}
            for size in sizes:  # tenant i reads organization i mod k
                for i in range(size):
                    org = orgs["tenants"][i % len(orgs["tenants"])]
                    one = {"tenants": [org]}
                    conn = tenant_connections(one, sim.base_url, prefix=f"b{i:05d}_")
                    all_conns.update(conn)
            config = ClusterConfig(
                dags_folder=REPO_ROOT / "dags",
                workers=args.workers,
                worker_concurrency=args.concurrency,
                pg_url=args.pg_url,
                pools={API_POOL: args.pool_slots},
                parallelism=max(32, slots * 2),
                cron_schedules=False,
                env={
                    "AIRFLOW_CONN_SENDGRID_WAREHOUSE": server.with_database(
                        warehouse
                    ).airflow_connection_json(),
                    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max(32, slots * 2)),
                    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                },
                setup=lambda cluster, env: _setup(cluster, env, all_conns, sizes[0]),
                home=Path(tempfile.mkdtemp(prefix="bench-cluster-")),
            )
            print(
                f"cluster: {args.workers} workers x {args.concurrency} slots, pool sendgrid_api="
                f"{args.pool_slots}; {len(all_conns)} tenant connections registered",
                flush=True,
            )
            with LocalCluster(config) as cluster:
                print(f"cluster up in {cluster.timings['start']:.0f}s", flush=True)
                # Unpausing the daily DAG makes the scheduler create its latest run: that run is
                # the first size (the Variable lists exactly its tenants); the others are
                # triggered through the REST API after updating the Variable.
                cluster.wait_for_dags([EXTRACT_DAG, TRANSFORM_DAG], timeout=300)
                t_unpause = time.monotonic()  # unpaused at the end of wait_for_dags
                cluster.api("PATCH", f"/dags/{TRANSFORM_DAG}", json={"is_paused": True})
                ids = sorted(all_conns)
                for n, size in enumerate(sizes):
                    results.append(measure(cluster, ids[:size], args, slots, n == 0, t_unpause))
                if args.transform:
                    cluster.api("PATCH", f"/dags/{TRANSFORM_DAG}", json={"is_paused": False})
                    t0 = time.monotonic()
                    run_id = cluster.trigger(TRANSFORM_DAG)
                    state = cluster.wait_for_run(TRANSFORM_DAG, run_id, args.time_budget)
                    print(f"transform (dbt, all tenants): {state} in {time.monotonic() - t0:.0f}s")
    finally:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{warehouse}" with (force)')
    print(
        "\ntenants | wall s | tenants/min | partial | median task s | sched s | pickup s"
        " | bottleneck"
    )
    for r in results:
        print(
            f"{r['tenants']:7d} | {r['wall']:6.0f} | {r['rate']:11.1f} | {r['partial']!s:7} |"
            f" {r['lat']['task_s']:12.1f} | {r['lat']['schedule_s']:7.1f} |"
            f" {r['lat']['pickup_s']:8.1f} | {r['bottleneck']}"
        )
    return 0


def _setup(cluster: LocalCluster, env: dict, conns: dict, first: int) -> None:
    """Register every tenant connection; list only the first size's in the Variable."""
    import json
    import subprocess

    airflow = (sys.executable, "-m", "airflow")
    register(conns, airflow=airflow, env=env)
    first_ids = json.dumps(sorted(conns)[:first])
    subprocess.run([*airflow, "variables", "set", TENANTS_VARIABLE, first_ids], env=env,
                   check=True, capture_output=True)  # fmt: skip


def measure(
    cluster: LocalCluster,
    tenant_ids: list[str],
    args: Any,
    slots: int,
    scheduled: bool,
    t_unpause: float,
) -> dict:
    import json

    size = len(tenant_ids)
    print(f"\n== {size} tenants", flush=True)
    if not scheduled:
        value = json.dumps(tenant_ids)
        cluster.api("PATCH", f"/variables/{TENANTS_VARIABLE}",
                    json={"key": TENANTS_VARIABLE, "value": value})  # fmt: skip
    with Sampler(cluster, min(slots, args.pool_slots)) as sampler:
        if scheduled:
            run_id, t0 = _scheduled_run(cluster, t_unpause)
        else:
            run_id, t0 = cluster.trigger(EXTRACT_DAG), time.monotonic()
        partial = False
        try:
            state = cluster.wait_for_run(EXTRACT_DAG, run_id, timeout=args.time_budget)
        except ClusterError:
            state, partial = "timeout", True
    wall = time.monotonic() - t0
    done = cluster.query(
        "select count(*) from task_instance where dag_id = %s and run_id = %s"
        " and task_id = 'extract_load' and state = 'success'",
        [EXTRACT_DAG, run_id],
    )[0][0]
    if partial:  # stop the rest of this run so the next size starts clean
        with contextlib.suppress(ClusterError):
            cluster.api("PATCH", f"/dags/{EXTRACT_DAG}/dagRuns/{run_id}", json={"state": "failed"})
    report = sampler.report()
    lat = latencies(cluster, run_id)
    bottleneck = name_bottleneck(report, lat, min(slots, args.pool_slots))
    rate = done / (wall / 60)
    cpu = ", ".join(f"{k} {v:.0f}s" for k, v in sorted(report["cpu_seconds"].items()))
    print(
        f"run {state}: {done}/{size} tenants in {wall:.0f}s = {rate:.1f} tenants/min; "
        f"machine CPU {report['cpu_share_of_machine']:.0%}; slots saturated "
        f"{report['slots_saturated_share']:.0%} of the time (max running "
        f"{report['max_running']}); metadata DB connections max {report['max_db_connections']}"
        f"\n  CPU: {cpu}\n  bottleneck: {bottleneck}",
        flush=True,
    )
    return {"tenants": size, "wall": wall, "rate": rate, "partial": partial, "lat": lat,
            "bottleneck": bottleneck, "state": state}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
