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

PostgreSQL: ``--pg-url`` or ``TEST_POSTGRES_URL``. About 10 minutes on 2 busy cores:

    .venv/bin/python bench/bench_extract_load.py --pg-url postgresql://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SUPPRESSIONS = ["bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes"]

_CHILD = """
import datetime as dt, json, sys, time
def rss():  # VmHWM: this process's peak (ru_maxrss would include the forking parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
import psycopg
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_elt.extract import TenantExtractor
base = rss()
mode, conninfo, streams, start = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4]
start = dt.date.fromisoformat(start) if start != "-" else None
hook = SendGridHook(sendgrid_conn_id="bench", max_pages=100_000)  # the whole list: > 10,000 pages
t0, c0 = time.perf_counter(), time.process_time()
if mode == "http":
    st = 0 if start is None else (start - dt.date(1970, 1, 1)).days * 86400
    n = sum(1 for _ in hook.iter_records("/v3/suppression/" + streams[0], pagination="offset",
                                          records_path=None, params={"start_time": st},
                                          page_size=500))
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


def _pg(arg: str | None) -> Any:
    from sendgrid_elt.postgres_target import PostgresTarget

    url = arg or os.environ.get("TEST_POSTGRES_URL")
    if not url:
        sys.exit("give --pg-url or TEST_POSTGRES_URL (a PostgreSQL server to create databases on)")
    return PostgresTarget.from_url(url)


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


def _child(env: dict, mode: str, target: Any, streams: list[str], start: dt.date | None) -> dict:
    argv = [sys.executable, "-c", _CHILD, mode, target.conninfo() if target else "-",
            ",".join(streams), start.isoformat() if start else "-"]  # fmt: skip
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"child {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----- 1. loader vs raw COPY ------------------------------------------------------------------
def _rows(world: Any, n: int) -> list[tuple]:
    """``n`` shaped rows of the large tenant's bounces, built without HTTP."""
    from sendgrid_hook.json_body import parse_json

    from sendgrid_elt import catalog
    from sendgrid_elt.records import Shaper

    lst = world.suppression(world.tenants[0].parent, "bounces")
    shaper, rows = Shaper(catalog.get("bounces")), []
    for offset in range(0, n, 500):
        rows += shaper.rows(parse_json(lst.page_json(world.clock, offset, 500).encode()), "", None)[
            0
        ]
    return rows


def stage_costs(world: Any, n: int, repeat: int) -> dict[str, float]:
    """Client CPU microseconds per record of each in-process stage, on ``n`` bounces records.

    The stages a record passes in the extract+load process besides HTTP and the wait for
    PostgreSQL: decode (the page's JSON), shape (key, cursor, one canonical encode, md5) and
    frame (binary COPY bytes); the best of ``repeat`` passes.
    """
    from sendgrid_hook.json_body import parse_json

    from sendgrid_elt import catalog
    from sendgrid_elt.copy_binary import framed_rows, text_field
    from sendgrid_elt.records import Shaper

    lst = world.suppression(world.tenants[0].parent, "bounces")
    pages = [lst.page_json(world.clock, o, 500).encode() for o in range(0, n, 500)]
    shaper = Shaper(catalog.get("bounces"))
    decoded = [parse_json(p) for p in pages]
    rows = [r for d in decoded for r in shaper.rows(d, "", None)[0]]
    head, tail = text_field("bench"), text_field("run")
    stages = {
        "decode": lambda: [parse_json(p) for p in pages],
        "shape": lambda: [shaper.rows(d, "", None) for d in decoded],
        "frame": lambda: list(framed_rows(rows, 7, head, tail)),
    }
    out = {}
    for name, stage in stages.items():
        best = float("inf")
        for _ in range(repeat):
            c0 = time.process_time()
            stage()
            best = min(best, time.process_time() - c0)
        out[name] = best / len(rows) * 1e6
    return out


class _Clock:
    """Wall seconds, client CPU seconds and (local server) backend CPU seconds of a block."""

    def __init__(self, conn: Any) -> None:
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        self._stat = Path(f"/proc/{pid}/stat")

    def _backend(self) -> float | None:
        try:
            fields = self._stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a remote server: wall time only
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> _Clock:
        self._t, self._c, self._b = time.perf_counter(), time.process_time(), self._backend()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._t
        self.cpu = time.process_time() - self._c + ((self._backend() or 0) - (self._b or 0))


def _raw_copy(target: Any, rows: list[tuple]) -> _Clock:
    """One plain binary COPY of ``rows`` into a bare table (one transaction)."""
    import psycopg

    from sendgrid_elt.copy_binary import JsonbBytes

    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute("drop table if exists plain_copy")
        conn.execute("create table plain_copy (tenant_id text, subuser text, parent_key text, "
                     "record_key text, record_hash text, record jsonb)")  # fmt: skip
        conn.execute("checkpoint")
        cur = conn.cursor()
        cur.adapters.register_dumper(bytes, JsonbBytes)
        sql = "copy plain_copy from stdin (format binary)"
        with _Clock(conn) as clock, conn.transaction(), cur.copy(sql) as cp:
            cp.set_types(["text", "text", "text", "text", "text", "jsonb"])
            for s, p, k, d, h, _ in rows:
                cp.write_row(("bench", s, p, k, h, d))
        return clock


def _shaped_copy(target: Any, rows: list[tuple]) -> _Clock:
    """One plain binary COPY of ``rows`` into a table of the stream table's shape.

    The table is empty and made ``LIKE ... INCLUDING ALL`` (its columns and key index); the
    rows go in key order, in one transaction: what PostgreSQL alone needs to store the rows
    where the loader stores them.
    """
    import datetime as dt

    import psycopg

    from sendgrid_elt.copy_binary import JsonbBytes
    from sendgrid_elt.load_batches import KEY_ORDER
    from sendgrid_elt.settings import STAGING_SCHEMA

    ordered, now = sorted(rows, key=KEY_ORDER), dt.datetime.now(dt.UTC)
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute("drop table if exists shaped_copy")
        conn.execute(f'create table shaped_copy (like "{STAGING_SCHEMA}".bounces including all)')
        conn.execute("checkpoint")
        cur = conn.cursor()
        cur.adapters.register_dumper(bytes, JsonbBytes)
        cols = "tenant_id, subuser, parent_key, record_key, record_hash, record"
        sql = (f"copy shaped_copy ({cols}, first_seen_at, last_seen_at, extracted_at, run_id)"
               " from stdin (format binary)")  # fmt: skip
        with _Clock(conn) as clock, conn.transaction(), cur.copy(sql) as cp:
            cp.set_types(["text"] * 5 + ["jsonb"] + ["timestamptz"] * 3 + ["text"])
            for s, p, k, d, h, _ in ordered:
                cp.write_row(("bench", s, p, k, h, d, now, now, now, "bench"))
        return clock


def _loader(target: Any, rows: list[tuple], run: str) -> _Clock:
    """The staging loader writing ``rows`` (batches, merge, cursor), as in a run."""
    import psycopg

    from sendgrid_elt import catalog
    from sendgrid_elt.loader import StagingLoader

    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute("checkpoint")
        writer = StagingLoader(conn, "bench", run).stream(catalog.get("bounces"))
        pages = ((rows[i : i + 500], []) for i in range(0, len(rows), 500))
        with _Clock(conn) as clock:
            writer.write_unit("", pages, checkpoint=True)
        return clock


def loader_vs_copy(dbs: Databases, world: Any, n: int, repeat: int) -> dict[str, Any]:
    """Raw COPY, the loader's first load and its reload, side by side, ``repeat`` times."""
    rows = _rows(world, n)
    runs = []
    for _ in range(repeat):
        target = dbs.fresh()
        runs.append({"copy": _raw_copy(target, rows), "shaped": _shaped_copy(target, rows),
                     "first": _loader(target, rows, "first"),
                     "reload": _loader(target, rows, "reload")})  # fmt: skip
    return {"rows": len(rows), "runs": runs}


# ----- 2. extract+load vs HTTP-only and COPY-only -------------------------------------------
def _copy_only(target: Any, stream: str) -> tuple[int, float, float]:
    """COPY the staged rows out, then time two plain COPYs of them (one transaction each).

    Returns the row count and the seconds of a COPY into a bare table (the rows' six staged
    values, no index) and into an empty table of the stream table's shape (``LIKE ... INCLUDING
    ALL``: every column, default and the key index), which is what PostgreSQL itself needs to
    store these rows where the loader stores them.
    """
    import psycopg

    from sendgrid_elt.settings import STAGING_SCHEMA

    table = f'"{STAGING_SCHEMA}"."{stream}"'
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        rows = conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608
        cols = "tenant_id, subuser, parent_key, record_key, record_hash, record"
        conn.execute(f"create table copy_bare ({cols.replace(',', ' text,')} text)".replace(
            "record text", "record jsonb"))  # fmt: skip
        conn.execute(f"create table copy_shaped (like {table} including all)")
        bare = _timed_copy(conn, f"select {cols} from {table}", f"copy_bare ({cols})")  # noqa: S608
        shaped = _timed_copy(conn, f"select * from {table}", "copy_shaped")  # noqa: S608
        return rows, bare, shaped


def _timed_copy(conn: Any, select: str, into: str) -> float:
    """Seconds of one binary ``COPY ... FROM STDIN`` of what ``select`` returns (read first)."""
    buf = io.BytesIO()
    with conn.cursor().copy(f"copy ({select}) to stdout (format binary)") as cp:
        for chunk in cp:
            buf.write(chunk)
    data = buf.getvalue()
    conn.execute("checkpoint")
    t0 = time.perf_counter()
    with conn.transaction(), conn.cursor().copy(f"copy {into} from stdin (format binary)") as cp:
        for i in range(0, len(data), 1 << 20):
            cp.write(data[i : i + (1 << 20)])
    return time.perf_counter() - t0


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--loader-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="side-by-side runs (medians)")
    parser.add_argument("--small", type=float, default=0.1, help="share of history (~0.5 M rows)")
    parser.add_argument("--skip-full", action="store_true", help="no 5 M row run (memory)")
    args = parser.parse_args()

    from sendgrid_simulator.testing import run_simulator

    dbs = Databases(_pg(args.pg_url))
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
            _report_loader(loader_vs_copy(dbs, world, args.loader_rows, args.repeat))
            _report_pipeline(
                dbs,
                env,
                small_start,
                args.repeat,
                stage_costs(world, args.loader_rows, args.repeat),
            )
            small = _report_memory(dbs, env, small_start, args.skip_full)
            _report_rerun(dbs, env, clock)
            del small
    finally:
        dbs.drop_all()


def _report_loader(f: dict[str, Any]) -> None:
    n, runs = f["rows"], f["runs"]

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    print(f"loader vs raw COPY ({n:,} rows; median of {len(runs)} side-by-side runs; CPU = "
          "client + PostgreSQL backend)", flush=True)  # fmt: skip
    print(f"  {'':38}  {'rows/s':>9}  {'ratio':>6}   {'rows/CPU-s':>10}  {'ratio':>6}")
    for key, label in (("copy", "raw COPY (bare table, one transaction)"),
                       ("shaped", "raw COPY (table shape + key index)"),
                       ("first", "loader, first load (new keys)"),
                       ("reload", "loader, reload (every key exists)")):  # fmt: skip
        wall = median([n / r[key].wall for r in runs])
        ratio = median([r["copy"].wall / r[key].wall for r in runs])
        cpu = median([n / r[key].cpu for r in runs])
        cpu_ratio = median([r["copy"].cpu / r[key].cpu for r in runs])
        print(f"  {label:38}  {wall:>9,.0f}  {ratio:>6.0%}   {cpu:>10,.0f}  {cpu_ratio:>6.0%}")
    shaped = median([r["shaped"].wall / r["first"].wall for r in runs])
    print(f"  loader first load vs the raw COPY into the stream table's shape: {shaped:.0%}",
          flush=True)  # fmt: skip


def _report_pipeline(
    dbs: Databases, env: dict, start: dt.date, repeat: int, stages: dict[str, float]
) -> None:
    runs = []
    for _ in range(repeat):  # side by side: this machine's speed drifts by 20 % between runs
        target = dbs.fresh()
        run = _child(env, "load", target, ["bounces"], start)
        http = _child(env, "http", None, ["bounces"], start)
        rows, bare_s, shaped_s = _copy_only(target, "bounces")
        runs.append({"run": run, "rate": run["records"] / run["seconds"],
                     "http": http["records"] / http["seconds"], "bare": rows / bare_s,
                     "copy": rows / shaped_s, "cpu": run["cpu"] / run["records"] * 1e6,
                     "http_cpu": http["cpu"] / http["records"] * 1e6})  # fmt: skip

    def median(key: str | Any) -> float:
        values = sorted(key(r) if callable(key) else r[key] for r in runs)
        return values[len(values) // 2]

    rate, http_rate, copy_rate, bare_rate = (median(k) for k in ("rate", "http", "copy", "bare"))
    slower = "HTTP-only" if http_rate < copy_rate else "COPY-only"
    ratio = median(lambda r: r["rate"] / min(r["http"], r["copy"]))
    run = runs[0]["run"]
    print(f"extract+load vs its limits ({run['records']:,} records, {run['requests']:,} requests;"
          f" median of {repeat} side-by-side runs)")  # fmt: skip
    print(f"  HTTP-only read (hook, decoded)         : {http_rate:>10,.0f} records/s")
    print(f"  COPY-only load of the same rows        : {copy_rate:>10,.0f} rows/s"
          "  (into the stream table's shape: its columns and key index)")  # fmt: skip
    print(f"  (COPY into a bare table, no index      : {bare_rate:>10,.0f} rows/s;"
          f" extract+load = {median(lambda r: r['rate'] / r['bare']):.0%} of it)")  # fmt: skip
    print(f"  extract+load                           : {rate:>10,.0f} records/s"
          f"  = {ratio:.0%} of the slower limit ({slower})", flush=True)  # fmt: skip
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
    print(f"no-change rerun of the large tenant ({len(SUPPRESSIONS)} incremental streams x "
          f"{units} units, after a 2-day load of {first['records']:,} records)")  # fmt: skip
    print(f"  requests: {requests:,} = {requests / (len(SUPPRESSIONS) * units):.2f} per stream "
          f"and unit; records re-read: {records:,} (parent bounces: "
          f"{_parent_records(target):,})")  # fmt: skip
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
