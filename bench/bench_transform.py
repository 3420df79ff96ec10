r"""The transform as Airflow runs it vs a plain ``dbt build``, side by side (prints only).

For each data set, the same PostgreSQL database is transformed alternately by

* a plain ``dbt build --threads 4`` (the CLI, fresh target folder: a full parse, as every
  scheduled run with a new as-of var pays), and
* the ``sendgrid_transform`` DAG, triggered through the REST API of a real Airflow (scheduler,
  dag-processor, api-server, triggerer; ``deploy.local_cluster``) with the LocalExecutor and/or
  the CeleryExecutor with 2 workers,

after one warm-up build. It prints each time, the medians and their ratio (limit: 1.25), where
the DAG's time went (build task, tail after it, head before it) and how many task instances
needed a worker. Data sets: ``demo`` (the simulator's ``demo`` scale extracted by the real
extract code) and ``large`` (``bench_dbt_build``'s synthetic staging set). ``--overhead`` also
times the probe DAGs of ``bench/dags`` (no-op tasks on workers vs started in the triggerer);
``--cosmos`` also runs the Cosmos renderings of ``bench/dags/transform_cosmos_variants.py``
once each (one ``dbt build`` per model; watcher mode).

    .venv/bin/python bench/bench_transform.py --data demo large --executor local celery

PostgreSQL: ``--pg-url`` or ``TEST_POSTGRES_URL``, else the embedded server
(:mod:`bench.postgres`); the Celery runs need Redis on ``127.0.0.1:6379``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.postgres import add_pg_url, bench_server  # noqa: E402
from deploy.local_cluster import ClusterConfig, LocalCluster  # noqa: E402
from sendgrid_elt.postgres_target import PostgresTarget  # noqa: E402
from sendgrid_elt.settings import TRANSFORM_DAG_ID, WAREHOUSE_CONN_ID  # noqa: E402

DAG_ID = TRANSFORM_DAG_ID
PROBES = ("probe_worker_flat", "probe_trigger_flat", "probe_worker_chain", "probe_trigger_chain")
COSMOS = ("cosmos_watcher", "cosmos_local_build")
CLOCK = dt.date(2026, 11, 28)
LIMIT = 1.25
_EXTRACT = """
import json, sys
from sendgrid_elt.extract_load import load_tenant, prepare_staging
prepare_staging()  # the extract DAG's first task
for conn_id in json.loads(sys.argv[1]):
    try:  # a tenant whose streams partly fail (the demo has some on purpose) still loads the rest
        out = load_tenant(conn_id, "bench")
    except Exception as exc:
        print(conn_id, "partly failed:", type(exc).__name__, flush=True)
        continue
    print(conn_id, sum(s.get("records", 0) for s in out["streams"].values()), flush=True)
"""


def load_demo(target: PostgresTarget) -> str:
    """The simulator's ``demo`` scale, extracted and loaded by the pipeline's own code."""
    from deploy.demo_tenants import as_env, tenant_connections
    from sendgrid_simulator.testing import run_simulator

    with run_simulator(seed=42, scale="demo", clock=CLOCK) as sim:
        conns = tenant_connections(sim.accounts, sim.base_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(as_env(conns), AIRFLOW_HOME=tempfile.mkdtemp(prefix="bench-extract-"),
                   AIRFLOW_CONN_SENDGRID_WAREHOUSE=target.airflow_connection_json(),
                   PYTHONPATH=str(REPO))  # fmt: skip
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", _EXTRACT, json.dumps(sorted(conns))],
                       env=env, check=True, capture_output=True, text=True)  # fmt: skip
    return f"demo scale: {len(conns)} tenants extracted in {time.monotonic() - t0:.0f}s"


def load_large(target: PostgresTarget) -> str:
    """``bench_dbt_build``'s synthetic staging set (three tenants plus a 100-subuser one)."""
    sys.path.insert(0, str(REPO / "bench"))
    from bench_dbt_build import load_large as add_large

    from tests.transform.staging_data import build_scenario, create_staging

    create_staging(target)
    staging, _ = build_scenario(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    staging.write(target)
    rows = add_large(target, 1062, 100)
    return f"large synthetic set: {rows:,} daily stats rows"


def plain_build(target: PostgresTarget) -> tuple[float, float]:
    """Seconds and CPU seconds of ``dbt build --threads 4`` (the CLI, fresh target folder)."""
    import resource

    from tests.transform.dbt_runner import run_dbt

    with tempfile.TemporaryDirectory() as work:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        run_dbt(target, Path(work), "build", "--threads", "4")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
        return time.monotonic() - t0, cpu


def cpu_seconds(cluster: LocalCluster) -> dict[str, float]:
    """CPU time used so far by each process of the cluster (with its finished children)."""
    import psutil

    out: dict[str, float] = {}
    for proc in cluster.processes:
        if proc.popen is None:
            continue
        total = 0.0
        try:
            root = psutil.Process(proc.popen.pid)
            for p in [root, *root.children(recursive=True)]:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
        out[proc.name] = total
    return out


def dag_run(cluster: LocalCluster, dag_id: str = DAG_ID) -> dict:
    """Trigger ``dag_id`` through the REST API, wait, and break its time down."""
    cpu0 = cpu_seconds(cluster)
    run_id = cluster.trigger(dag_id)
    state = cluster.wait_for_run(dag_id, run_id, timeout=1800, fail_fast=False)
    by_process = {k: v - cpu0.get(k, 0.0) for k, v in cpu_seconds(cluster).items()}
    cpu = sum(by_process.values())
    ((queued, end),) = cluster.query(
        "select queued_at, end_date from dag_run where dag_id = %s and run_id = %s",
        [dag_id, run_id],
    )  # fmt: skip
    tis = cluster.query(
        "select task_id, state, start_date, end_date, coalesce(hostname, '') from task_instance"
        " where dag_id = %s and run_id = %s", [dag_id, run_id])  # fmt: skip
    shares = " ".join(f"{k} {v:.0f}" for k, v in by_process.items() if v >= 0.5)
    out = {"state": state, "seconds": (end - queued).total_seconds(), "tis": len(tis),
           "cpu": cpu, "on_worker": sum(1 for t in tis if t[4]), "by_process": shares}  # fmt: skip
    build = next((t for t in tis if t[0] == "dbt_build"), None)
    if build is not None and build[2] and build[3]:
        out["build"] = (build[3] - build[2]).total_seconds()
        out["head"] = (build[2] - queued).total_seconds()
        out["tail"] = (end - build[3]).total_seconds()
    return out


def set_warehouse(cluster: LocalCluster, target: PostgresTarget) -> None:
    """Point the cluster's warehouse connection at ``target`` (REST API)."""
    body = {"connection_id": WAREHOUSE_CONN_ID, **json.loads(target.airflow_connection_json())}
    body["port"] = int(body["port"])
    with contextlib.suppress(Exception):  # absent the first time
        cluster.api("DELETE", f"/connections/{WAREHOUSE_CONN_ID}")
    cluster.api("POST", "/connections", json=body)


def overhead(cluster: LocalCluster) -> None:
    """Per task instance: wall and CPU seconds of no-op tasks, on workers vs in the triggerer."""
    cluster.wait_for_dags(PROBES, timeout=300)
    for dag_id in PROBES:
        dag_run(cluster, dag_id)  # warm-up
        r = dag_run(cluster, dag_id)
        n = 40 if dag_id.endswith("flat") else 6
        print(f"  {dag_id:<20} {r['state']:<8} {r['seconds']:5.1f}s wall, {r['cpu']:5.1f}s CPU "
              f"for {n} tasks: {r['seconds'] / n:.2f}s wall, {r['cpu'] / n:.2f}s CPU per task "
              f"({r['on_worker']} on a worker)", flush=True)  # fmt: skip


def _dags_folder(with_probe: bool, with_cosmos: bool) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-transform-dags-"))
    (folder / f"{DAG_ID}.py").symlink_to(REPO / "dags" / f"{DAG_ID}.py")
    extra = ["transform_overhead_probe.py"] * with_probe + [
        "transform_cosmos_variants.py"
    ] * with_cosmos
    for name in extra:
        (folder / name).symlink_to(REPO / "bench" / "dags" / name)
    return folder


def compare(
    cluster: LocalCluster, label: str, target: PostgresTarget, repeat: int, others: tuple = ()
) -> None:
    """Alternate DAG runs and plain builds on ``target``; print both and the ratio.

    Then run each of ``others`` once against the same plain median.
    """
    set_warehouse(cluster, target)
    plain, dag = [], []
    for i in range(repeat):
        r = dag_run(cluster)
        dag.append(r["seconds"])
        idle = cpu_seconds(cluster)
        p, p_cpu = plain_build(target)
        idle_cpu = sum(cpu_seconds(cluster).values()) - sum(idle.values())
        plain.append(p)
        print(f"  {label} #{i + 1}: DAG {r['seconds']:5.1f}s ({r['state']}; build task "
              f"{r.get('build', 0):.1f}s, head {r.get('head', 0):.1f}s, tail "
              f"{r.get('tail', 0):.1f}s; {r['tis']} tasks, {r['on_worker']} on a worker; "
              f"{r['cpu']:.0f}s CPU: {r['by_process']})  plain dbt build {p:5.1f}s "
              f"({p_cpu:.0f}s CPU; idle Airflow {idle_cpu:.0f}s)", flush=True)  # fmt: skip
    ratio = statistics.median(dag) / statistics.median(plain)
    verdict = "OK" if ratio <= LIMIT else f"OVER the {LIMIT} limit"
    dag_s, plain_s = statistics.median(dag), statistics.median(plain)
    print(f"  {label}: median DAG {dag_s:.1f}s vs plain dbt build {plain_s:.1f}s: "
          f"ratio {ratio:.2f} ({verdict})", flush=True)  # fmt: skip
    for dag_id in others:
        r = dag_run(cluster, dag_id)
        print(f"  {label}: {dag_id} {r['seconds']:.1f}s ({r['state']}; {r['tis']} tasks, "
              f"{r['on_worker']} on a worker, {r['cpu']:.0f}s CPU): "
              f"{r['seconds'] / plain_s:.2f}x the plain build", flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", nargs="+", default=["demo", "large"], choices=["demo", "large"])
    parser.add_argument("--executor", nargs="+", default=["local", "celery"],
                        choices=["local", "celery"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--overhead", action="store_true", help="also time the probe DAGs")
    parser.add_argument("--cosmos", action="store_true", help="also run the Cosmos variants")
    add_pg_url(parser)
    args = parser.parse_args()
    with bench_server(args.pg_url) as server:
        return _run(args, server)


def _run(args: argparse.Namespace, server: PostgresTarget) -> int:
    pg_url = server.url()  # the Airflow metadata databases go on the same server
    targets: dict[str, PostgresTarget] = {}
    try:
        for data in args.data:
            name = f"bench_transform_{data}_{uuid.uuid4().hex[:6]}"
            with psycopg.connect(server.conninfo(), autocommit=True) as conn:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            targets[data] = server.with_database(name)
            print(f"{data}: {(load_demo if data == 'demo' else load_large)(targets[data])}")
            print(
                f"{data}: warm-up plain dbt build {plain_build(targets[data])[0]:.1f}s", flush=True
            )
        for executor in args.executor:
            config = ClusterConfig(
                dags_folder=_dags_folder(args.overhead, args.cosmos),
                executor="LocalExecutor" if executor == "local" else "CeleryExecutor",
                workers=2, worker_concurrency=4, triggerer=True, pg_url=pg_url,
                cron_schedules=False,
                env={"AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "900",
                     # the triggerer imports the probe's trigger from bench/dags
                     "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "bench" / "dags")])},
            )  # fmt: skip
            with LocalCluster(config) as cluster:
                what = "2 Celery workers x 4 slots" if executor == "celery" else "LocalExecutor"
                print(f"\n{what}: cluster up in {cluster.timings['start']:.0f}s", flush=True)
                if args.overhead:
                    overhead(cluster)
                others = COSMOS if args.cosmos else ()
                cluster.wait_for_dags([DAG_ID, *others], timeout=300)
                for data, target in targets.items():
                    compare(cluster, f"{data}/{executor}", target, args.repeat, others)
    finally:
        for target in targets.values():
            with psycopg.connect(server.conninfo(), autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)")
                             .format(sql.Identifier(target.dbname)))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
