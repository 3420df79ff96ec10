"""Benchmark the record path against the ``large`` simulator; prints figures, asserts nothing.

Every figure is a ratio against a limit measured in the same run, on the same records:

1. **loader vs raw COPY**: the staging loader (binary COPY, merge, rejects, cursor, one
   transaction per batch) on N rows of the ``bounces`` stream, first load and reload, against
   a plain ``COPY`` of the very same rows into a bare table of the same PostgreSQL, and into
   an empty table of the stream table's shape (its columns and key index);
2. **extract+load vs its two limits**: a real run of the stream (hook, HTTP, loader) against
   an HTTP-only read of the same pages (same hook, records decoded and dropped) and a COPY-only
   load of the same rows into an empty table of the stream table's shape (its columns and key
   index); the ratio is to the slower limit (a COPY into a bare table without index is printed
   beside it); medians of ``--repeat`` side-by-side runs; with the client CPU per record of
   each run and of the in-process stages (decode, shape, frame: :func:`stage_costs`);
3. **memory**: peak RSS of the extract+load process at about 0.5 M and 5 M rows (the whole
   list), and the process before it read anything (imports: Airflow alone is ~110 MiB);
4. **no-change rerun** of the large tenant's incremental streams (parent and every subuser,
   after a load of the last days): requests per stream and unit, records re-read.

PostgreSQL: ``--pg-url`` or ``TEST_POSTGRES_URL``, else the embedded server
(:mod:`bench.postgres`). About 10 minutes on 2 busy cores:

    .venv/bin/python bench/bench_extract_load.py [--pg-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from statistics import median_high
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.copy_peers import (  # noqa: E402
    Clock,
    bounces_pages,
    copy_staged,
    plain_copy,
    shaped_rows,
    stage_costs,
)
from bench.postgres import add_pg_url, bench_server  # noqa: E402

SUPPRESSIONS = ["bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes"]

_CHILD = """
import datetime as dt, json, sys, time
def rss():  # VmHWM: this process's peak (ru_maxrss would include the forking parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
import psycopg
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_elt import catalog
from sendgrid_elt.extract import TenantExtractor
base = rss()
mode, conninfo, streams, start = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4]
start = dt.date.fromisoformat(start) if start != "-" else None
hook = SendGridHook(sendgrid_conn_id="bench", max_pages=100_000)  # the whole list: > 10,000 pages
t0, c0 = time.perf_counter(), time.process_time()
if mode == "http":
    st = 0 if start is None else (start - dt.date(1970, 1, 1)).days * 86400
    spec = catalog.get(streams[0])  # the extract's own requests: same paginator, same pages
    pages = hook.iter_record_pages(spec.path, pagination=spec.pagination, records_path=None,
                                   params={"start_time": st}, page_size=spec.page_size)
    n = sum(len(p) for p in pages)
    out = {"records": n, "requests": hook.request_count}
else:
    with psycopg.connect(conninfo, autocommit=True) as pg:
        ex = TenantExtractor(hook, pg, "bench", "bench", start_date=start)
        outs = ex.run(streams)
    out = {"records": sum(o.records for o in outs.values()),
           "requests": sum(o.requests for o in outs.values()),
           "streams": {k: o.as_dict() for k, o in outs.items()}}
out.update(seconds=time.perf_counter() - t0, cpu=time.process_time() - c0, rss_mb=rss(),
           base_mb=base)
print(json.dumps(out))
"""


class Databases:
    """Fresh databases on one server, dropped at the end."""

    def __init__(self, server: Any) -> None:
        self.server, self.made = server, []

    def fresh(self) -> Any:
        """A new empty database with the staging schema."""
        import psycopg
        from psycopg import sql

        from sendgrid_elt.staging_schema import ensure_schema_url

        name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.server.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        target = self.server.with_database(name)
        self.made.append(target)
        ensure_schema_url(target.sqlalchemy_url())
        return target

    def drop_all(self) -> None:
        """Drop every database made."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.server.conninfo(), autocommit=True) as conn:
            for t in self.made:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(t.dbname)))  # fmt: skip


def _checkpoint(target: Any) -> None:
    """Write every dirty buffer now, so a timed run starts with no checkpoint pending."""
    import psycopg

    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute("checkpoint")


def _child(env: dict, mode: str, target: Any, streams: list[str], start: dt.date | None) -> dict:
    argv = [sys.executable, "-c", _CHILD, mode, target.conninfo() if target else "-",
            ",".join(streams), start.isoformat() if start else "-"]  # fmt: skip
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"child {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----- 1. loader vs raw COPY ------------------------------------------------------------------
def _loader(target: Any, rows: list[tuple], run: str) -> Clock:
    """The staging loader writing ``rows`` (batches, merge, cursor), as in a run."""
    import psycopg

    from sendgrid_elt import catalog
    from sendgrid_elt.loader import StagingLoader

    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute("checkpoint")
        writer = StagingLoader(conn, "bench", run).stream(catalog.get("bounces"))
        pages = ((rows[i : i + 500], []) for i in range(0, len(rows), 500))
        with Clock(conn) as clock:
            writer.write_unit("", pages, checkpoint=True)
        return clock


def loader_vs_copy(dbs: Databases, rows: list[tuple], repeat: int) -> dict[str, Any]:
    """Raw COPYs, the loader's first load and its reload, side by side, ``repeat`` times."""
    runs = []
    for _ in range(repeat):
        target = dbs.fresh()
        runs.append({"copy": plain_copy(target, rows, shaped=False),
                     "shaped": plain_copy(target, rows, shaped=True),
                     "first": _loader(target, rows, "first"),
                     "reload": _loader(target, rows, "reload")})  # fmt: skip
    return {"rows": len(rows), "runs": runs}


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pg_url(parser)
    parser.add_argument("--loader-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="side-by-side runs (medians)")
    parser.add_argument("--small", type=float, default=0.1, help="share of history (~0.5 M rows)")
    parser.add_argument("--skip-full", action="store_true", help="no 5 M row run (memory)")
    args = parser.parse_args()
    with bench_server(args.pg_url) as server:
        _run(args, Databases(server))


def _run(args: argparse.Namespace, dbs: Databases) -> None:
    from sendgrid_simulator.testing import run_simulator

    home = tempfile.mkdtemp(prefix="bench-airflow-")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")},
           "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}  # fmt: skip
    print("# bench_extract_load (simulator scale=large, stream bounces)", flush=True)
    try:
        with run_simulator(seed=42, scale="large", clock=dt.date(2026, 11, 28),
                           rate_limit="off") as sim:  # fmt: skip
            tenant = sim.accounts["tenants"][0]
            env["AIRFLOW_CONN_BENCH"] = json.dumps({
                "conn_type": "sendgrid", "host": sim.base_url,
                "password": tenant["api_keys"]["full"],
                "extra": {"auth_type": "api_key", "request_budget": 1_000_000},
            })  # fmt: skip
            world = sim.app.world
            clock, history = world.clock, world.tenants[0].profile.history_days
            small_start = clock - dt.timedelta(days=max(1, int(history * args.small)))
            pages = bounces_pages(world, args.loader_rows)
            _report_loader(loader_vs_copy(dbs, shaped_rows(pages), args.repeat))
            stages = stage_costs(pages, args.repeat)
            _report_pipeline(dbs, env, small_start, args.repeat, stages)
            small = _report_memory(dbs, env, small_start, args.skip_full)
            _report_rerun(dbs, env, clock)
            del small
    finally:
        dbs.drop_all()


def _report_loader(f: dict[str, Any]) -> None:
    n, runs = f["rows"], f["runs"]
    print(f"loader vs raw COPY ({n:,} rows; median of {len(runs)} side-by-side runs; CPU = "
          "client + PostgreSQL backend)", flush=True)  # fmt: skip
    print(f"  {'':38}  {'rows/s':>9}  {'ratio':>6}   {'rows/CPU-s':>10}  {'ratio':>6}")
    for key, label in (("copy", "raw COPY (bare table, one transaction)"),
                       ("shaped", "raw COPY (table shape + key index)"),
                       ("first", "loader, first load (new keys)"),
                       ("reload", "loader, reload (every key exists)")):  # fmt: skip
        wall = median_high(n / r[key].wall for r in runs)
        ratio = median_high(r["copy"].wall / r[key].wall for r in runs)
        cpu = median_high(n / r[key].cpu for r in runs)
        cpu_ratio = median_high(r["copy"].cpu / r[key].cpu for r in runs)
        print(f"  {label:38}  {wall:>9,.0f}  {ratio:>6.0%}   {cpu:>10,.0f}  {cpu_ratio:>6.0%}")
    shaped = median_high(r["shaped"].wall / r["first"].wall for r in runs)
    print(f"  loader first load vs the raw COPY into the stream table's shape: {shaped:.0%}",
          flush=True)  # fmt: skip


def _report_pipeline(
    dbs: Databases, env: dict, start: dt.date, repeat: int, stages: dict[str, float]
) -> None:
    runs = []
    for _ in range(repeat):  # side by side: this machine's speed drifts by 20 % between runs
        target = dbs.fresh()
        _checkpoint(target)  # as before the COPY-only limit: no checkpoint left over mid-run
        run = _child(env, "load", target, ["bounces"], start)
        http = _child(env, "http", None, ["bounces"], start)
        rows, bare_s, shaped_s = copy_staged(target, "bounces")
        rate, http_rate = run["records"] / run["seconds"], http["records"] / http["seconds"]
        runs.append({"rate": rate, "http": http_rate, "copy": rows / shaped_s,
                     "bare": rows / bare_s, "limit": rate / min(http_rate, rows / shaped_s),
                     "of_bare": rate * bare_s / rows, "cpu": run["cpu"] / run["records"] * 1e6,
                     "http_cpu": http["cpu"] / http["records"] * 1e6})  # fmt: skip

    def median(key: str) -> float:
        return median_high(r[key] for r in runs)

    rate, http_rate, copy_rate, bare_rate = (median(k) for k in ("rate", "http", "copy", "bare"))
    slower = "HTTP-only" if http_rate < copy_rate else "COPY-only"
    print(f"extract+load vs its limits ({run['records']:,} records, {run['requests']:,} requests;"
          f" median of {repeat} side-by-side runs)")  # fmt: skip
    print(f"  HTTP-only read (hook, decoded)         : {http_rate:>10,.0f} records/s")
    print(f"  COPY-only load of the same rows        : {copy_rate:>10,.0f} rows/s"
          "  (into the stream table's shape: its columns and key index)")  # fmt: skip
    print(f"  (COPY into a bare table, no index      : {bare_rate:>10,.0f} rows/s;"
          f" extract+load = {median('of_bare'):.0%} of it)")  # fmt: skip
    print(f"  extract+load                           : {rate:>10,.0f} records/s"
          f"  = {median('limit'):.0%} of the slower limit ({slower})", flush=True)  # fmt: skip
    parts = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
    print(f"  client CPU per record: extract+load {median('cpu'):.1f} µs, HTTP-only read "
          f"{median('http_cpu'):.1f} µs (decode included); in-process stages: {parts} µs"
          f" (sum {sum(stages.values()):.2f})", flush=True)  # fmt: skip


def _report_memory(dbs: Databases, env: dict, start: dt.date, skip_full: bool) -> dict:
    small = _child(env, "load", dbs.fresh(), ["bounces"], start)
    print(f"memory (peak RSS of the extract+load process; {small['base_mb']:.0f} MiB after "
          "imports, before any record)")  # fmt: skip
    above = small["rss_mb"] - small["base_mb"]
    print(f"  {small['records']:>9,} rows: {small['rss_mb']:.0f} MiB "
          f"({above:.1f} MiB above the imports)", flush=True)  # fmt: skip
    if not skip_full:
        full = _child(env, "load", dbs.fresh(), ["bounces"], None)
        print(f"  {full['records']:>9,} rows: {full['rss_mb']:.0f} MiB "
              f"({full['rss_mb'] - full['base_mb']:.1f} MiB above the imports; ratio "
              f"{full['rss_mb'] / small['rss_mb']:.2f}x; {full['records'] / full['seconds']:,.0f}"
              " records/s)", flush=True)  # fmt: skip
    return small


def _report_rerun(dbs: Databases, env: dict, clock: dt.date) -> None:
    target = dbs.fresh()
    streams = ["subusers", *SUPPRESSIONS]
    first = _child(env, "load", target, streams, clock - dt.timedelta(days=2))
    rerun = _child(env, "load", target, streams, None)
    units = 1 + first["streams"]["subusers"]["records"]
    per = {s: rerun["streams"][s] for s in SUPPRESSIONS}
    requests = sum(o["requests"] for o in per.values())
    records = sum(o["records"] for o in per.values())
    # spam reports are listed hours after their `created`: a documented 2-day look-back
    look_back = per.get("spam_reports", {}).get("records", 0)
    print(f"no-change rerun of the large tenant ({len(SUPPRESSIONS)} incremental streams x "
          f"{units} units, after a 2-day load of {first['records']:,} records)")  # fmt: skip
    print(f"  requests: {requests:,} = {requests / (len(SUPPRESSIONS) * units):.2f} per stream "
          f"and unit; records re-read: {records - look_back:,} (parent bounces: "
          f"{_parent_records(target):,}), plus {look_back:,} spam reports of their 2-day "
          "look-back")  # fmt: skip
    for name, o in per.items():
        print(f"    {name:<15} requests {o['requests']:>4}  records re-read {o['records']:>5}")


def _parent_records(target: Any) -> int:
    import psycopg

    from sendgrid_elt.settings import STAGING_SCHEMA

    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        return conn.execute(
            f"select count(*) from \"{STAGING_SCHEMA}\".bounces where subuser = '' "  # noqa: S608
            "and run_id = 'bench' and first_seen_at < last_seen_at"
        ).fetchone()[0]


if __name__ == "__main__":
    main()
