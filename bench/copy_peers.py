"""The peers of ``bench_extract_load``: plain ``COPY`` loads and the record path's stages alone.

Plain ``COPY`` loads of the staging rows, and the client CPU of each in-process stage of the
record path, measured without the loader around them.

Two tables take the plain COPYs: a **bare** one (the six staged values, no index) and an empty
one of the **stream table's shape** (``LIKE ... INCLUDING ALL``: its columns, defaults and key
index), which is what PostgreSQL alone needs to store the rows where the loader stores them.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path
from typing import Any

#: The staged values of a row, the columns of the bare table.
STAGED = "tenant_id, subuser, parent_key, record_key, record_hash, record"
_BARE_DDL = (
    "create table {} (tenant_id text, subuser text, parent_key text, record_key text, "
    "record_hash text, record jsonb)"
)


def _shaped_ddl(name: str, stream: str) -> str:
    from sendgrid_elt.settings import STAGING_SCHEMA

    return f'create table {name} (like "{STAGING_SCHEMA}"."{stream}" including all)'


class Clock:
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

    def __enter__(self) -> Clock:
        self._t, self._c, self._b = time.perf_counter(), time.process_time(), self._backend()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._t
        self.cpu = time.process_time() - self._c + ((self._backend() or 0) - (self._b or 0))


def bounces_pages(world: Any, n: int) -> list[bytes]:
    """The JSON bodies of the large tenant's first ``n`` bounces, 500 per page, without HTTP."""
    lst = world.suppression(world.tenants[0].parent, "bounces")
    return [lst.page_json(world.clock, o, 500).encode() for o in range(0, n, 500)]


def shaped_rows(pages: list[bytes]) -> list[tuple]:
    """The staging rows of ``pages`` (decoded and shaped as in a run)."""
    from sendgrid_hook.json_body import parse_json

    from sendgrid_elt import catalog
    from sendgrid_elt.records import Shaper

    shaper = Shaper(catalog.get("bounces"))
    return [row for page in pages for row in shaper.rows(parse_json(page), "", None)[0]]


def plain_copy(target: Any, rows: list[tuple], *, shaped: bool) -> Clock:
    """One plain binary COPY of ``rows`` (psycopg's ``write_row``) in one transaction.

    ``shaped``: into an empty table of the bounces table's shape, the rows in key order (as the
    loader sends them) with its seen times and run id; else into the bare table.
    """
    import psycopg

    from sendgrid_elt.copy_binary import JsonbBytes
    from sendgrid_elt.load_batches import KEY_ORDER
    from sendgrid_elt.loader import DIRECT_COLUMNS

    now = dt.datetime.now(dt.UTC)
    name = "shaped_copy" if shaped else "plain_copy"
    columns, types = STAGED, ["text"] * 5 + ["jsonb"]
    if shaped:
        columns = DIRECT_COLUMNS  # the staged values, then seen times and run id
        types += ["timestamptz"] * 3 + ["text"]
        rows = sorted(rows, key=KEY_ORDER)
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute(f"drop table if exists {name}")
        conn.execute(_shaped_ddl(name, "bounces") if shaped else _BARE_DDL.format(name))
        conn.execute("checkpoint")
        cur = conn.cursor()
        cur.adapters.register_dumper(bytes, JsonbBytes)
        sql = f"copy {name} ({columns}) from stdin (format binary)"
        extra = (now, now, now, "bench") if shaped else ()
        with Clock(conn) as clock, conn.transaction(), cur.copy(sql) as cp:
            cp.set_types(types)
            for s, p, k, d, h, _ in rows:
                cp.write_row(("bench", s, p, k, h, d, *extra))
        return clock


def copy_staged(target: Any, stream: str) -> tuple[int, float, float]:
    """COPY the staged rows of ``stream`` out, then time plain COPYs of them back in.

    Returns the row count and the seconds of a COPY into the bare table and into an empty table
    of the stream table's shape (each one transaction).
    """
    import psycopg

    from sendgrid_elt.settings import STAGING_SCHEMA

    table = f'"{STAGING_SCHEMA}"."{stream}"'
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        rows = conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608
        conn.execute(_BARE_DDL.format("copy_bare"))
        conn.execute(_shaped_ddl("copy_shaped", stream))
        bare = _timed_copy(conn, f"select {STAGED} from {table}", f"copy_bare ({STAGED})")  # noqa: S608
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


def stage_costs(pages: list[bytes], repeat: int) -> dict[str, float]:
    """Client CPU microseconds per record of each in-process stage, on ``pages`` of bounces.

    The stages a record passes in the extract+load process besides HTTP and the wait for
    PostgreSQL: decode (the page's JSON), shape (key, cursor, one canonical encode, md5) and
    frame (binary COPY bytes); the best of ``repeat`` passes.
    """
    from sendgrid_hook.json_body import parse_json

    from sendgrid_elt import catalog
    from sendgrid_elt.copy_binary import framed_rows, text_field
    from sendgrid_elt.records import Shaper

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
