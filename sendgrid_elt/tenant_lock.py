"""One run per tenant at a time: a PostgreSQL advisory lock on the warehouse, per tenant id.

Two runs of the same tenant at once (a manual trigger beside the schedule, a backfill, a cleared
task of an older run) would interleave their snapshot bookkeeping: the later run's "keys not
seen since I started" can name rows the earlier run just wrote, and mark live rows deleted.

:func:`tenant_lock` takes a **session-level** advisory lock on the tenant's own warehouse
connection (the one the extraction writes through), keyed on the tenant id, so it lives exactly
as long as that connection: a killed worker's session ends and the lock with it. A worker *host*
that vanishes (power, network) sends no goodbye, so the session also turns on TCP keepalives
(:data:`KEEPALIVES`): PostgreSQL drops a silent peer's session, and its lock, within about two
minutes instead of the kernel's default two hours of skipped runs. A second run
polls for at most ``wait`` seconds, then gets ``False`` and skips the tenant, naming the run
that holds it (:func:`holder`, from ``application_name``, which :func:`tenant_lock` sets).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

_NAMESPACE = "sendgrid_tenant_extract:"
_POLL_SECONDS = 0.5
#: Server-side TCP keepalives of the lock's session (seconds; ignored on a Unix socket, where a
#: vanished host takes the server with it): idle 60 s, then 6 probes 10 s apart.
KEEPALIVES = {"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10",
              "tcp_keepalives_count": "6"}  # fmt: skip


def lock_key(tenant_id: str) -> int:
    """Signed 64-bit advisory-lock key of ``tenant_id`` (stable across processes)."""
    digest = hashlib.sha256(f"{_NAMESPACE}{tenant_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def application_name(tenant_id: str, run_id: str) -> str:
    """What ``pg_stat_activity`` shows for the extraction's session (at most 63 bytes).

    PostgreSQL keeps 63 bytes of it: a digest of the tenant and the run comes first, so two
    runs whose long ids share those bytes still read as different runs (:func:`not_locked`).
    """
    digest = hashlib.sha256(f"{tenant_id}\0{run_id}".encode()).hexdigest()[:8]
    return f"sendgrid {digest} {tenant_id} {run_id}".encode()[:63].decode("utf-8", "ignore")


@contextlib.contextmanager
def tenant_lock(
    conn: psycopg.Connection, tenant_id: str, run_id: str, *, wait: float
) -> Iterator[bool]:
    """Hold the tenant's lock for the block; yield whether it was obtained.

    Args:
        conn: The run's warehouse connection (autocommit); the lock belongs to its session.
        tenant_id: The tenant (connection id).
        run_id: This run, shown to a run that finds the lock taken.
        wait: Longest time to wait for another run to release the lock, in seconds.

    Yields:
        ``True`` when this run holds the lock, ``False`` when it timed out waiting.
    """
    settings = {"application_name": application_name(tenant_id, run_id), **KEEPALIVES}
    conn.execute(  # one round trip for every session setting
        "select " + ", ".join(["set_config(%s, %s, false)"] * len(settings)),
        [item for pair in settings.items() for item in pair],
    )
    key = lock_key(tenant_id)
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        got = bool(conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
        left = deadline - time.monotonic()
        if got or left <= 0:
            break
        time.sleep(min(_POLL_SECONDS, left))
    try:
        yield got
    finally:
        if got and not conn.closed:
            with contextlib.suppress(Exception):  # the lock ends with the session anyway
                conn.execute("select pg_advisory_unlock(%s)", (key,))


def holder(conn: psycopg.Connection, tenant_id: str) -> str | None:
    """``application_name`` of the session holding the tenant's lock (None if free/unknown)."""
    unsigned = lock_key(tenant_id) & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(
        "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted and l.objsubid = 1 "
        "and l.database = (select oid from pg_database where datname = current_database()) "
        "and l.classid::text::bigint = %s and l.objid::text::bigint = %s",
        (unsigned >> 32, unsigned & 0xFFFF_FFFF),
    ).fetchone()
    return row[0] if row else None


class TenantBusy(RuntimeError):
    """An earlier try of this same run still holds the tenant's lock: retried, never skipped.

    Its worker lost its heartbeat but lives on (a zombie) and still extracts the tenant; once it
    ends (or its host vanishes: the lock's session keepalives) the retry takes the tenant.
    """


def not_locked(conn: psycopg.Connection, tenant_id: str, run_id: str, waited: float) -> None:
    """Why ``run_id`` did not get the tenant's lock after ``waited`` seconds, raised.

    Raises:
        TenantBusy: An earlier try of this run holds it, or no holder shows (released since,
            or not visible): retried, since a skip would end this run without the tenant.
        AirflowSkipException: Another run holds it (this run skips the tenant).
    """
    from airflow.sdk.exceptions import AirflowSkipException

    other = holder(conn, tenant_id)
    if other is None:
        raise TenantBusy(
            f"tenant {tenant_id}: its lock was taken (waited {waited:.0f} s) but no session "
            "shows holding it now; the retry extracts it"
        )
    if other == application_name(tenant_id, run_id):  # a skip would end this run without it
        raise TenantBusy(
            f"tenant {tenant_id}: an earlier try of run {run_id} still holds its lock (waited "
            f"{waited:.0f} s); the retry extracts it once that try ends"
        )
    message = (
        f"tenant {tenant_id}: skipped in run {run_id}: {other} is extracting it (waited "
        f"{waited:.0f} s for its lock); nothing was read or written"
    )
    log.warning(message)
    raise AirflowSkipException(message)
