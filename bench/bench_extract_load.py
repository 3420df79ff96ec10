"""Benchmark the extract/load path against the ``large`` simulator; prints figures, asserts nothing.

Figures:

1. extract+load records/s of a suppression stream (real hook, real HTTP, COPY + merge), and a
   plain ``COPY`` of the very same rows into a bare table of the same PostgreSQL, side by side;
2. requests and seconds of a no-change incremental rerun vs the full run;
3. peak RSS of the loader process at ``fraction / 10`` and ``fraction`` of the stream's history
   (flat = streaming, nothing accumulates);
4. import time of the DAG file.

``--fraction 1`` loads the whole ``large`` bounces list (about 5 million rows; minutes). The
default (0.1) runs in a few minutes. PostgreSQL: ``--pg-url`` or ``TEST_POSTGRES_URL``.

    .venv/bin/python bench/bench_extract_load.py --fraction 0.1
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = """
import datetime as dt, json, resource, sys, time
import psycopg
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_elt.extract import TenantExtractor
conninfo, stream, start = sys.argv[1], sys.argv[2], sys.argv[3]
hook = SendGridHook(sendgrid_conn_id="bench")
t0 = time.perf_counter()
with psycopg.connect(conninfo, autocommit=True) as pg:
    ex = TenantExtractor(hook, pg, "bench", "bench", start_date=dt.date.fromisoformat(start)
                         if start != "-" else None)
    out = ex.run([stream])[stream]
print(json.dumps({"records": out.records, "requests": out.requests,
                  "seconds": time.perf_counter() - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _pg_url(arg: str | None) -> str:
    url = arg or os.environ.get("TEST_POSTGRES_URL")
    if not url:
        sys.exit("give --pg-url or TEST_POSTGRES_URL (a PostgreSQL server to create databases on)")
    return url


def _fresh_db(server):
    import psycopg
    from psycopg import sql

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return server.with_database(name)


def _drop_db(server, target) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(target.dbname))
        )


def _child(env: dict, target, stream: str, start: dt.date | None) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            target.conninfo(),
            stream,
            start.isoformat() if start else "-",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"loader child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _plain_copy(target, stream: str) -> tuple[int, float]:
    """COPY the staged rows out, then time a plain COPY of them into a bare table."""
    import psycopg

    from sendgrid_elt.settings import STAGING_SCHEMA

    buf = io.BytesIO()
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        cols = "tenant_id, subuser, parent_key, record_key, record_hash, record"
        query = f'copy (select {cols} from "{STAGING_SCHEMA}"."{stream}") to stdout'  # noqa: S608
        with conn.cursor().copy(query) as cp:
            for chunk in cp:
                buf.write(chunk)
        conn.execute(
            "create table plain_copy (tenant_id text, subuser text, parent_key text, "
            "record_key text, record_hash text, record jsonb)"
        )
        data = buf.getvalue()
        rows = data.count(b"\n")
        t0 = time.perf_counter()
        with conn.transaction(), conn.cursor().copy(f"copy plain_copy ({cols}) from stdin") as cp:
            for i in range(0, len(data), 1 << 20):
                cp.write(data[i : i + (1 << 20)])
        return rows, time.perf_counter() - t0


def _dag_import_seconds(env: dict) -> float:
    code = (
        "import time, runpy, airflow.sdk\n"
        "t = time.perf_counter()\n"
        f"runpy.run_path({str(REPO / 'dags' / 'sendgrid_extract_load.py')!r})\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.1, help="share of history (0..1]")
    parser.add_argument("--stream", default="bounces", help="suppression stream to load")
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()

    from sendgrid_elt.postgres_target import PostgresTarget
    from sendgrid_simulator.testing import run_simulator

    server = PostgresTarget.from_url(_pg_url(args.pg_url))
    home = tempfile.mkdtemp(prefix="bench-airflow-")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")},
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    print(f"# bench_extract_load: stream={args.stream} fraction={args.fraction}")
    with run_simulator(seed=42, scale="large", rate_limit="off") as sim:
        tenant = sim.accounts["tenants"][0]
        env["AIRFLOW_CONN_BENCH"] = json.dumps(
            {
                "conn_type": "sendgrid",
                "host": sim.base_url,
                "password": tenant["api_keys"]["full"],
                "extra": {"auth_type": "api_key", "request_budget": 1_000_000},
            }
        )
        clock = dt.date.fromisoformat(sim.control.clock()["date"])
        history = sim.app.world.tenants[0].profile.history_days

        def start_for(fraction: float) -> dt.date | None:
            if fraction >= 1:
                return None
            return clock - dt.timedelta(days=max(1, int(history * fraction)))

        results = {}
        for label, fraction in (("small", args.fraction / 10), ("full", args.fraction)):
            target = _fresh_db(server)
            try:
                from sendgrid_elt.staging_schema import ensure_schema_url

                ensure_schema_url(target.sqlalchemy_url())
                run = _child(env, target, args.stream, start_for(fraction))
                if label == "full":
                    rerun = _child(env, target, args.stream, None)
                    rows, copy_s = _plain_copy(target, args.stream)
                    results["rerun"] = rerun
                    results["copy"] = (rows, copy_s)
                results[label] = run
            finally:
                _drop_db(server, target)

    full, small, rerun = results["full"], results["small"], results["rerun"]
    rows, copy_s = results["copy"]
    rate = full["records"] / full["seconds"]
    copy_rate = rows / copy_s
    print(f"extract+load      : {full['records']:,} records in {full['seconds']:.1f}s "
          f"= {rate:,.0f} records/s ({full['requests']:,} requests)")  # fmt: skip
    print(f"plain COPY        : {rows:,} rows in {copy_s:.2f}s = {copy_rate:,.0f} rows/s "
          f"(extract+load = {rate / copy_rate:.1%} of plain COPY; "
          f"COPY is {copy_rate / rate:.1f}x faster)")  # fmt: skip
    print(f"no-change rerun   : {rerun['requests']:,} requests in {rerun['seconds']:.2f}s "
          f"vs full run {full['requests']:,} requests in {full['seconds']:.1f}s")  # fmt: skip
    print(f"peak RSS          : {small['rss_mb']:.0f} MB at {args.fraction / 10:.0%} "
          f"({small['records']:,} records) vs {full['rss_mb']:.0f} MB at {args.fraction:.0%} "
          f"({full['records']:,} records)")  # fmt: skip
    print(f"DAG import        : {_dag_import_seconds(env) * 1000:.0f} ms (after airflow.sdk)")
    print(f"bench process RSS : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
