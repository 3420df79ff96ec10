"""Run dbt and report each finished node on a separate pipe (``python -m sendgrid_elt.dbt_invoke``).

    python -m sendgrid_elt.dbt_invoke <fd> build --select ...

dbt runs in this process through its programmatic runner (``dbtRunner``) with its usual text
log on stdout. A callback writes one JSON line per ``NodeFinished`` event to file descriptor
``<fd>``: ``[unique_id, status, seconds, message]``. This costs nothing measurable, unlike
``--log-format json --log-level debug`` on stdout, which made the same build twice as slow
(dbt serializes every debug event). Exit codes are dbt's: 0 success, 1 some node failed,
2 dbt failed as a whole.

dbt runs under :func:`warehouse_lock`, one PostgreSQL advisory lock per warehouse database held
by this process: two pipeline builds never write the marts at once (see there).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

#: Name of the advisory lock every pipeline dbt run holds on the warehouse database.
LOCK_NAME = "sendgrid_transform_dbt"


def lock_key() -> int:
    """Signed 64-bit key of :data:`LOCK_NAME` (stable across processes)."""
    return int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def warehouse_lock(env: Mapping[str, str], label: str = "") -> Iterator[None]:
    """Hold the pipeline's dbt lock on the warehouse (``env``'s ``SENDGRID_WAREHOUSE_*``).

    Two builds at once (a dbt that outlived its killed task beside the next run, ``make demo``'s
    ``dag.test()`` beside a scheduler on the same warehouse, two cleared model tasks) both read
    an incremental mart before either commits, and its ``delete+insert`` on a key the table
    does not enforce then keeps both inserts: every day counted twice. The lock is
    **session-level**, on a connection of this process only: it ends with the process (a
    killed dbt releases it at once), and the session sends TCP keepalives like the tenant locks
    (a vanished host releases it within minutes). A second build waits for it, saying who
    holds it.

    Args:
        env: The dbt process's environment (warehouse variables; ``PG*`` TLS settings apply).
        label: What ``pg_stat_activity`` shows for this session after ``sendgrid dbt``.
    """
    import psycopg

    from sendgrid_elt.settings import WAREHOUSE_ENV
    from sendgrid_elt.tenant_lock import KEEPALIVES

    params = {k: env[v] for k, v in WAREHOUSE_ENV.items() if env.get(v)}
    name = f"sendgrid dbt {socket.gethostname()}:{os.getpid()} {label}".strip()
    settings = {"application_name": name.encode()[:63].decode("utf-8", "ignore"), **KEEPALIVES}
    with psycopg.connect(autocommit=True, connect_timeout=10, **params) as conn:
        if conn.info.server_version >= 140000:  # a server-wide idle timeout must not end it
            settings["idle_session_timeout"] = "0"
        conn.execute(
            "select " + ", ".join(["set_config(%s, %s, false)"] * len(settings)),
            [item for pair in settings.items() for item in pair],
        )
        key = lock_key()
        if not conn.execute("select pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
            started = time.monotonic()
            print(f"another dbt build holds this warehouse ({_holder(conn, key)}): waiting for "
                  "it to end (two builds at once would count the incremental marts' rows twice)",
                  flush=True)  # fmt: skip
            conn.execute("select pg_advisory_lock(%s)", [key])
            print(f"the other dbt build ended after {time.monotonic() - started:.0f} s: "
                  "building now", flush=True)  # fmt: skip
        yield  # released when the session closes, however this process ends


def _holder(conn: Any, key: int) -> str:
    """Who holds the lock: the session's application name, pid and start (or "unknown")."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(
        "select a.application_name, a.pid, a.backend_start from pg_locks l"
        " join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted"
        " and l.objsubid = 1 and l.database = (select oid from pg_database"
        " where datname = current_database())"
        " and l.classid::text::bigint = %s and l.objid::text::bigint = %s",
        [unsigned >> 32, unsigned & 0xFFFF_FFFF],
    ).fetchone()
    if row is None:
        return "a session that just ended"
    return f"session {row[0]!r}, server pid {row[1]}, since {row[2]:%Y-%m-%d %H:%M:%S %Z}"


def main(argv: list[str]) -> int:
    """Invoke dbt with ``argv[1:]``, reporting nodes on file descriptor ``argv[0]``."""
    import psycopg
    from dbt.cli.main import dbtRunner

    out = os.fdopen(int(argv[0]), "w", buffering=1)
    lock = threading.Lock()

    def on_event(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node, result = event.data.node_info, event.data.run_result
        status = result.status or node.node_status
        message = None if status in ("success", "pass") else (result.message or None)
        line = json.dumps([node.unique_id, status, round(result.execution_time, 3), message])
        with lock:
            out.write(line + "\n")

    args = argv[1:]
    label = os.path.basename(args[args.index("--log-path") + 1]) if "--log-path" in args else ""
    try:
        with warehouse_lock(os.environ, label):
            result = dbtRunner(callbacks=[on_event]).invoke(args)
    except psycopg.Error as exc:  # the lock's session: dbt would have failed to connect too
        print(f"cannot take the warehouse's dbt lock: {type(exc).__name__}: {exc}", flush=True)
        return 2
    finally:
        out.close()
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
