"""Where the staging loader's first load loses to a raw ``COPY``: one step at a time.

Loads the same 200,000 ``bounces`` rows of the ``large`` simulator tenant into an empty stream
table several ways, side by side, and prints each as a share of a raw ``COPY`` into a bare table
(no index), the peer of ``bench_extract_load``'s loader section:

1. a plain ``COPY`` into the bare table (``write_row``);
2. the same into an empty table of the stream table's shape, all rows sorted as one run;
3. the loader's own binary framing (:func:`sendgrid_elt.copy_binary.framed_rows`) into the
   stream table, all rows sorted as one run, one transaction;
4. the same in runs of ``--batch`` rows, each sorted (the loader's batches), one transaction;
5. ... one transaction per run;
6. ... and a savepoint around each run's COPY (how the loader's direct path ran before);
7. the loader itself (producer thread, batch preparation, cursor committed with each batch).

    .venv/bin/python -m bench.bench_loader_gap [--pg-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from statistics import median_high
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.bench_extract_load import Databases, _loader  # noqa: E402
from bench.copy_peers import Clock, bounces_pages, plain_copy, shaped_rows  # noqa: E402
from bench.postgres import add_pg_url, bench_server  # noqa: E402


def framed_copy(
    target: Any, rows: list[tuple], *, run: int, txn_each: bool, savepoint: bool
) -> Clock:
    """COPY ``rows`` into the emptied stream table in sorted runs of ``run`` rows.

    The rows are framed as the loader frames them; one transaction per run (``txn_each``) or
    one for all, a savepoint around each run's COPY (``savepoint``).
    """
    import psycopg

    from sendgrid_elt.copy_binary import framed_rows, text_field, timestamptz_field
    from sendgrid_elt.load_batches import KEY_ORDER
    from sendgrid_elt.loader import DIRECT_COLUMNS
    from sendgrid_elt.settings import STAGING_SCHEMA

    table = f'"{STAGING_SCHEMA}"."bounces"'
    now = dt.datetime.now(dt.UTC)
    head, tail = text_field("bench"), timestamptz_field(now) * 3 + text_field("run")
    runs = [sorted(rows[i : i + run], key=KEY_ORDER) for i in range(0, len(rows), run)]
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute(f"truncate {table}")
        conn.execute("checkpoint")
        conn.execute("set synchronous_commit = off")  # as the loader's session

        def copy(batch: list[tuple]) -> None:
            guard = conn.transaction() if savepoint else contextlib.nullcontext()
            sql = f"copy {table} ({DIRECT_COLUMNS}) from stdin (format binary)"
            with guard, conn.cursor().copy(sql) as cp:
                for buf in framed_rows(batch, 10, head, tail):
                    cp.write(buf)

        with Clock(conn) as clock:
            if txn_each:
                for batch in runs:
                    with conn.transaction():
                        copy(batch)
            else:
                with conn.transaction():
                    for batch in runs:
                        copy(batch)
        return clock


def _empty_then_load(target: Any, rows: list[tuple]) -> Clock:
    import psycopg

    from sendgrid_elt.settings import STAGING_SCHEMA

    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        conn.execute(f'truncate "{STAGING_SCHEMA}"."bounces", "{STAGING_SCHEMA}"."sync_state"')
    return _loader(target, rows, "first")


def main() -> None:
    """Run the steps side by side and print their medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pg_url(parser)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000, help="rows per sorted run")
    parser.add_argument("--repeat", type=int, default=3, help="side-by-side runs (medians)")
    args = parser.parse_args()

    with bench_server(args.pg_url) as server:
        walls, rows = _measure(Databases(server), args.rows, args.batch, args.repeat)
    bare = median_high(walls["raw COPY, bare table"])
    print(f"# bench_loader_gap: {len(rows):,} bounces rows, median of {args.repeat} runs")
    for name, wall in walls.items():
        w = median_high(wall)
        print(f"  {name:48} {len(rows) / w:>10,.0f} rows/s  {bare / w:>5.0%} of the bare COPY")


def _measure(
    dbs: Databases, n: int, b: int, repeat: int
) -> tuple[dict[str, list[float]], list[tuple]]:
    """Wall seconds of each step, ``repeat`` side-by-side runs, on ``n`` rows."""
    from sendgrid_simulator.testing import run_simulator

    try:
        with run_simulator(seed=42, scale="large", clock=dt.date(2026, 11, 28),
                           rate_limit="off") as sim:  # fmt: skip
            rows = shaped_rows(bounces_pages(sim.app.world, n))
        steps: dict[str, Callable[[Any], Clock]] = {
            "raw COPY, bare table": lambda t: plain_copy(t, rows, shaped=False),
            "raw COPY, table shape, one sorted run": lambda t: plain_copy(t, rows, shaped=True),
            "framed, one sorted run, one transaction": lambda t: framed_copy(
                t, rows, run=len(rows), txn_each=False, savepoint=False),
            f"framed, sorted runs of {b:,}, one transaction": lambda t: framed_copy(
                t, rows, run=b, txn_each=False, savepoint=False),
            "... one transaction per run": lambda t: framed_copy(
                t, rows, run=b, txn_each=True, savepoint=False),
            "... and a savepoint per run": lambda t: framed_copy(
                t, rows, run=b, txn_each=True, savepoint=True),
            "the loader (first load)": lambda t: _empty_then_load(t, rows),
        }  # fmt: skip
        walls: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(repeat):
            target = dbs.fresh()
            for name, step in steps.items():
                walls[name].append(step(target).wall)
    finally:
        dbs.drop_all()
    return walls, rows


if __name__ == "__main__":
    main()
