"""Sync state, stream status and tenant registry rows, written inside the caller's transaction.

The loader calls :func:`save_cursor` in the same transaction as the batch it belongs to, so a
cursor never runs ahead of (or behind) the data it describes. :func:`save_roster` records which
known tenants a full discovery no longer found (deleted connections).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb
from sendgrid_hook.redaction import scrub

from sendgrid_elt.rejects import storable
from sendgrid_elt.settings import STAGING_SCHEMA

if TYPE_CHECKING:
    import datetime as dt

    import psycopg

_SYNC = f'"{STAGING_SCHEMA}".sync_state'
_STATUS = f'"{STAGING_SCHEMA}".stream_status'
_TENANTS = f'"{STAGING_SCHEMA}".tenants'
_RUNS = f'"{STAGING_SCHEMA}".extract_runs'


def load_cursor(conn: psycopg.Connection, tenant_id: str, stream: str, subuser: str) -> Any:
    """Return the stored cursor of one ``(tenant, stream, subuser)`` (``{}`` when none).

    A JSON object normally; any other JSON value (state written by hand or by another tool) is
    returned as it is, for the caller to ignore (:func:`sendgrid_elt.windows.usable_cursor`).
    """
    row = conn.execute(
        f"select cursor from {_SYNC} where tenant_id = %s and stream = %s and subuser = %s",  # noqa: S608
        (tenant_id, stream, subuser),
    ).fetchone()
    return _stored(row[0]) if row else {}


def load_cursors(conn: psycopg.Connection, tenant_id: str) -> dict[tuple[str, str], Any]:
    """Every stored cursor of a tenant: ``(stream, subuser) -> cursor`` (one query).

    Cursors as :func:`load_cursor` returns them (one that is not a JSON object as it is).
    """
    rows = conn.execute(
        f"select stream, subuser, cursor from {_SYNC} where tenant_id = %s",  # noqa: S608
        (tenant_id,),
    ).fetchall()
    return {(stream, subuser): _stored(cursor) for stream, subuser, cursor in rows}


def units_saved_by(conn: psycopg.Connection, tenant_id: str, run_id: str) -> set[tuple[str, str]]:
    """``(stream, subuser)`` of the tenant whose cursor ``run_id`` saved (an earlier try's)."""
    rows = conn.execute(
        f"select stream, subuser from {_SYNC} where tenant_id = %s and last_run_id = %s "  # noqa: S608
        "and cursor is not null",
        (tenant_id, run_id),
    ).fetchall()
    return {(stream, subuser) for stream, subuser in rows}


def _stored(cursor: Any) -> Any:
    return dict(cursor) if isinstance(cursor, dict) else ({} if cursor is None else cursor)


def save_cursor(
    conn: psycopg.Connection,
    tenant_id: str,
    stream: str,
    subuser: str,
    cursor: dict[str, Any] | None,
    run_id: str,
    *,
    complete: bool = False,
    rows: int | None = None,
) -> None:
    """Upsert the cursor (a checkpoint, or the final state when ``complete``)."""
    conn.execute(
        f"""
        insert into {_SYNC} as s
            (tenant_id, stream, subuser, cursor, last_success_at, last_run_id, rows_last_run,
             updated_at)
        values (%(t)s, %(s)s, %(u)s, %(c)s, case when %(done)s then now() end, %(run)s,
                %(rows)s, now())
        on conflict (tenant_id, stream, subuser) do update set
            cursor = coalesce(excluded.cursor, s.cursor),
            last_success_at = coalesce(excluded.last_success_at, s.last_success_at),
            last_run_id = excluded.last_run_id,
            rows_last_run = coalesce(excluded.rows_last_run, s.rows_last_run),
            updated_at = now()
        """,  # noqa: S608
        {
            "t": tenant_id,
            "s": stream,
            "u": subuser,
            "c": Jsonb(cursor) if cursor is not None else None,
            "done": complete,
            "run": run_id,
            "rows": rows,
        },
    )


def save_status(
    conn: psycopg.Connection,
    tenant_id: str,
    stream: str,
    status: str,
    run_id: str,
    *,
    detail: str | None = None,
    records: int | None = None,
    requests: int | None = None,
    seconds: float | None = None,
    rejected: int | None = None,
    repaired: int | None = None,
) -> None:
    """Upsert the latest status of one stream of one tenant.

    An ``ok`` status also records its run as ``last_ok_run_id``, which a later failure keeps.

    ``detail`` is scrubbed and made storable here (a NUL or a lone surrogate echoed in an
    error becomes a visible escape): the status of a failed stream must always save.
    """
    detail = storable(scrub(detail)) if detail else detail
    conn.execute(
        f"""
        insert into {_STATUS} as s
            (tenant_id, stream, status, detail, checked_at, run_id, records, requests, seconds,
             rejected, repaired, last_ok_run_id)
        values (%s, %s, %s, %s, now(), %s, %s, %s, %s, %s, %s, %s)
        on conflict (tenant_id, stream) do update set
            status = excluded.status, detail = excluded.detail, checked_at = excluded.checked_at,
            run_id = excluded.run_id, records = excluded.records, requests = excluded.requests,
            seconds = excluded.seconds, rejected = excluded.rejected, repaired = excluded.repaired,
            last_ok_run_id = coalesce(excluded.last_ok_run_id, s.last_ok_run_id)
        """,  # noqa: S608
        (tenant_id, stream, status, detail, run_id, records, requests, seconds, rejected,
         repaired, run_id if status == "ok" else None),
    )  # fmt: skip


def save_tenant(
    conn: psycopg.Connection,
    tenant_id: str,
    *,
    display_name: str | None,
    region: str | None,
    auth_type: str | None,
    subusers_filter: str | None,
) -> None:
    """Upsert the tenant row (no secrets: names and settings only)."""
    conn.execute(
        f"""
        insert into {_TENANTS} as t
            (tenant_id, display_name, region, auth_type, subusers_filter, first_seen_at,
             last_seen_at)
        values (%s, %s, %s, %s, %s, now(), now())
        on conflict (tenant_id) do update set
            display_name = excluded.display_name, region = excluded.region,
            auth_type = excluded.auth_type, subusers_filter = excluded.subusers_filter,
            last_seen_at = excluded.last_seen_at, removed_at = null
        """,  # noqa: S608
        (tenant_id, display_name, region, auth_type, subusers_filter),
    )


def active_tenants(conn: psycopg.Connection) -> list[str]:
    """The registry's tenants not marked removed."""
    rows = conn.execute(f"select tenant_id from {_TENANTS} where removed_at is null").fetchall()  # noqa: S608
    return sorted(r[0] for r in rows)


def save_roster(
    conn: psycopg.Connection, tenant_ids: Sequence[str], as_of: dt.datetime
) -> tuple[list[str], list[str]]:
    """Record a full discovery: which known tenants it no longer found, and which came back.

    A tenant of the registry that ``tenant_ids`` lacks gets ``removed_at = as_of`` (once: the
    first run that missed it); one that is listed again loses the mark. Nothing is deleted:
    the marts leave a removed tenant out of the totals and the reports, and a connection
    created again under the same id picks up where it left off.

    Returns:
        ``(removed, restored)``: the tenant ids marked now and those whose mark was cleared.
    """
    listed = list(tenant_ids)
    removed = conn.execute(
        f"update {_TENANTS} set removed_at = %s where removed_at is null"  # noqa: S608
        " and not (tenant_id = any(%s)) returning tenant_id",
        (as_of, listed),
    ).fetchall()
    restored = conn.execute(
        f"update {_TENANTS} set removed_at = null where removed_at is not null"  # noqa: S608
        " and tenant_id = any(%s) returning tenant_id",
        (listed,),
    ).fetchall()
    return sorted(r[0] for r in removed), sorted(r[0] for r in restored)


def published_as_of(conn: Any, *, excluding: str | None = None) -> dt.datetime | None:
    """The newest as-of published in ``extract_runs`` (``excluding`` one run), else None.

    The marts are never built as of an older instant: staging holds the newest run's data.
    """
    return conn.execute(
        f"select max(as_of) from {_RUNS} "  # noqa: S608
        "where run_id is distinct from %s",
        (excluding,),
    ).fetchone()[0]
