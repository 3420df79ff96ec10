"""The ``connection_health`` table: one row per tenant, and the alert decision per transition.

Statuses: ``connected``; ``degraded`` (the rest still loads: scopes are missing, and/or streams
of the last run failed or rejected records); ``needs_reconnect``; ``never_connected``.
:func:`record_health` updates a row and decides the alert **in the same transaction** (row
lock), so concurrent tasks never send two alerts for one transition:

* into ``needs_reconnect`` -> ``needs_reconnect`` alert (once);
* still ``needs_reconnect`` -> nothing, until ``reminder_after`` has passed since the last
  alert -> ``reminder``;
* out of ``needs_reconnect`` -> ``reconnected``;
* into ``degraded``, or still degraded with a problem no delivered alert told of yet (a
  missing scope, a stream that failed or rejected records: ``alerted_problems`` holds what
  was told, each with when it was last seen) -> ``degraded``; the same or fewer problems
  send nothing (a 503 storm that fails another subset of streams on each retry alerts once
  per stream at most, never once per retry). A told problem absent for ``FORGET_TOLD_AFTER``
  is forgotten, so it alerts again when it comes back (a tenant that stays degraded for
  another reason is still told of a stream that fails again weeks later);
* out of ``degraded`` into ``connected`` after a degraded alert was delivered -> ``resolved``
  (once: the told problems are then forgotten).

``stream_problems`` (``{stream: {"kind": "failed" | "held_deletions" | "skipped_units" |
"refused_ids" | "rejected", "detail": ..., "count": n}}``) is written at the end of each run;
the scope check at the start of the next run keeps it, so a tenant whose problems persist stays
``degraded`` without a new alert. What counts as one problem (a refused subuser is one per
stream and subuser) and what was told is :mod:`sendgrid_elt.health_problems`'s.

:mod:`sendgrid_elt.connection_health` is the public face of this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sendgrid_hook.display import shorten
from sendgrid_hook.redaction import scrub
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, create_engine, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert

from sendgrid_elt.health_problems import (
    HELD,
    REFUSED,
    RUN_PROBLEM,
    SKIPPED,
    alert_undelivered,
    alerted_keys,
    problem_keys,
    told_problems,
)
from sendgrid_elt.settings import STAGING_SCHEMA

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

Status = Literal["connected", "degraded", "needs_reconnect", "never_connected"]
AlertKind = Literal["needs_reconnect", "reminder", "reconnected", "degraded", "resolved"]
DEFAULT_REMINDER = dt.timedelta(hours=24)
#: A reminder is due this fraction of ``reminder_after`` early: with a daily schedule the check
#: lands a few seconds to minutes either side of the full period, and a strict ``>= 24 h`` made
#: reminders come after one day or two at random.
REMINDER_SLACK = 0.1
_DDL_LOCK = 0x5E9D_4EA1
#: Kept: ``record_health(stream_problems=KEEP)`` leaves the stored problems as they are.
KEEP: Any = None

metadata = MetaData(schema=STAGING_SCHEMA)
_ts = DateTime(timezone=True)
connection_health = Table(
    "connection_health",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("display_name", Text),
    Column("status", Text, nullable=False),
    Column("status_since", _ts, nullable=False),
    Column("reason", Text),
    Column("last_error", Text),
    Column("last_success_at", _ts),
    Column("last_checked_at", _ts, nullable=False),
    Column("missing_scopes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("streams_missing_scopes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("stream_problems", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    #: :func:`problem_keys` told by delivered alerts -> when each was last seen (a list or NULL:
    #: a row from an earlier version, see :func:`told_problems`).
    Column("alerted_problems", JSONB),
    Column("last_alert_at", _ts),
    Column("alert_kind", Text),
    Column("alerts_sent", Integer, nullable=False, server_default=text("0")),
)


@dataclass(frozen=True)
class HealthUpdate:
    """Result of :func:`record_health`: the transition and the alert to send (if any)."""

    tenant_id: str
    previous_status: Status
    status: Status
    status_since: dt.datetime
    alert: AlertKind | None
    previous_alert_at: dt.datetime | None = None
    previous_alert_kind: str | None = None
    reason: str | None = None
    stream_problems: Mapping[str, Any] | None = None
    #: ``alerted_problems`` as stored before this update (restored when the alert is released).
    previous_alerted: Any = None
    #: The problem keys alerts had told of and still remembered (what ``resolved`` names).
    told: tuple[str, ...] = ()


def health_engine() -> Engine:
    """Engine on the ``sendgrid_warehouse`` connection.

    Raises:
        WarehouseNotConfigured: The connection is not configured.
    """
    from sendgrid_elt.warehouse import require_target

    return create_engine(require_target().sqlalchemy_url(), pool_pre_ping=True)


#: The table exists with its newest column (``alerted_problems``).
_READY = text(
    "select exists (select 1 from pg_attribute where attrelid = to_regclass(:table) "
    "and attname = 'alerted_problems' and not attisdropped)"
)


def ensure_table(engine: Engine) -> None:
    """Create the schema and table, and add missing columns (idempotent, concurrency-safe).

    A catalog lookup first: when the table has its newest column nothing else runs (no DDL
    lock), so the tenants of a batch recording their health at once do not queue on it.
    """
    with engine.connect() as conn:
        if conn.execute(_READY, {"table": f"{STAGING_SCHEMA}.connection_health"}).scalar():
            return
    with engine.begin() as conn:
        conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _DDL_LOCK})
        conn.execute(text(f"create schema if not exists {STAGING_SCHEMA}"))
        metadata.create_all(conn, checkfirst=True)
        conn.execute(
            text(
                f"alter table {STAGING_SCHEMA}.connection_health add column if not exists "
                "stream_problems jsonb not null default '{}'::jsonb"
            )
        )
        conn.execute(
            text(
                f"alter table {STAGING_SCHEMA}.connection_health add column if not exists "
                "alerted_problems jsonb"
            )
        )


def decide_alert(
    previous: Mapping[str, Any] | None,
    status: Status,
    now: dt.datetime,
    reminder_after: dt.timedelta,
    missing_scopes: Sequence[str] = (),
    stream_problems: Mapping[str, Any] | None = None,
) -> AlertKind | None:
    """Pure decision: which alert (if any) the transition ``previous -> status`` deserves.

    ``degraded`` only for a problem no delivered alert told of (:func:`alerted_keys`), never for
    problems that cleared; ``resolved`` when a tenant told of problems is connected again.
    """
    prev_status = previous["status"] if previous else "never_connected"
    last_alert = previous.get("last_alert_at") if previous else None
    last_kind = previous.get("alert_kind") if previous else None
    undelivered = previous is not None and alert_undelivered(previous)
    if status == "needs_reconnect":
        if prev_status != "needs_reconnect":
            return "needs_reconnect"
        if last_alert is None or last_kind not in ("needs_reconnect", "reminder"):
            return "needs_reconnect"  # the first alert was never delivered
        due = reminder_after * (1 - REMINDER_SLACK)
        return "reminder" if now - last_alert >= due else None
    if prev_status == "needs_reconnect":
        return "reconnected"
    if undelivered and last_kind in ("needs_reconnect", "reminder"):
        return "reconnected"
    current = problem_keys(missing_scopes, stream_problems)
    told = set(alerted_keys(previous, now, current))
    if status == "degraded":
        new = set(current) - told
        return "degraded" if new else None
    if status == "connected" and told:
        return "resolved"
    return None


def _reason(missing_scopes: Sequence[str], problems: Mapping[str, Any]) -> str | None:
    streams = {k: p for k, p in problems.items() if k != RUN_PROBLEM}
    kinds = {str((p or {}).get("kind")) for p in streams.values()}
    reasons = [r for r, on in (("missing_scopes", missing_scopes), ("run_failed",
               RUN_PROBLEM in problems), ("streams_failed", "failed" in kinds),
               ("units_skipped", SKIPPED in kinds), ("deletions_held", HELD in kinds),
               ("ids_refused", REFUSED in kinds), ("records_rejected", "rejected" in kinds))
               if on]  # fmt: skip
    return ",".join(reasons) or None


def record_health(
    engine: Engine,
    *,
    tenant_id: str,
    status: Status,
    display_name: str | None = None,
    reason: str | None = None,
    error: str | None = None,
    missing_scopes: Sequence[str] | None = (),
    streams_missing_scopes: Mapping[str, Sequence[str]] | None = None,
    stream_problems: Mapping[str, Any] | None = KEEP,
    covered: Sequence[str] | None = None,
    reminder_after: dt.timedelta = DEFAULT_REMINDER,
    now: dt.datetime | None = None,
    succeeded: bool = True,
) -> HealthUpdate:
    """Upsert the tenant's row and claim the due alert atomically.

    For ``connected``/``degraded`` the status is derived from the facts: ``degraded`` when
    scopes are missing or stream problems remain, else ``connected``.

    Args:
        engine: Warehouse engine.
        tenant_id: The tenant.
        status: The new status (``connected``/``degraded`` are re-derived, see above).
        display_name: Human name (kept when ``None``).
        reason: Machine reason of ``needs_reconnect`` (derived for the other statuses).
        error: Last error text (scrubbed here).
        missing_scopes: Scopes the credential lacks (``None``: unknown this time, the stored
            ones and their streams are kept).
        streams_missing_scopes: Stream -> the scopes it lacks.
        stream_problems: Problems of the streams a run read (``KEEP``: keep the stored ones).
        covered: The streams that run read: their stored problems are replaced by
            ``stream_problems``, the others' kept (``None``: all replaced).
        reminder_after: Delay before a ``reminder``.
        now: The time of the check (tests pin it).
        succeeded: Whether the credential worked (``last_success_at``); ``False`` for a run
            that failed before it could tell.

    Returns:
        The transition and the alert claimed (if any).
    """
    now = now or dt.datetime.now(dt.UTC)
    per_stream = {k: list(v) for k, v in (streams_missing_scopes or {}).items()}
    ensure_table(engine)
    t = connection_health
    with engine.begin() as conn:
        conn.execute(
            insert(t)
            .values(
                tenant_id=tenant_id,
                display_name=display_name,
                status="never_connected",
                status_since=now,
                last_checked_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = conn.execute(select(t).where(t.c.tenant_id == tenant_id).with_for_update()).one()
        previous = dict(row._mapping)
        if missing_scopes is None:  # not read this time: keep what is known
            missing_scopes = list(previous["missing_scopes"] or ())
            per_stream = dict(previous["streams_missing_scopes"] or {})
        problems = dict(previous["stream_problems"] or {})
        if stream_problems is not KEEP:
            gone = set(problems) if covered is None else set(covered)
            problems = {k: v for k, v in problems.items() if k not in gone}
            problems.update({k: dict(v) for k, v in stream_problems.items()})
        if status in ("connected", "degraded"):
            status = "degraded" if missing_scopes or problems else "connected"
            reason = _reason(missing_scopes, problems)
            if not succeeded and previous["status"] == "needs_reconnect":
                # a run that failed before it could tell (a 503, a timeout) proves nothing
                # about the credential: still to reconnect, never "access restored"
                status, reason, error = "needs_reconnect", previous["reason"], None
        alert = decide_alert(previous, status, now, reminder_after, missing_scopes, problems)
        stored = previous.get("alerted_problems")  # release_alert restores it as it was
        current = problem_keys(missing_scopes, problems) if status != "needs_reconnect" else []
        seen = now.isoformat()
        last_seen, told = told_problems(previous, current), alerted_keys(previous, now, current)
        remembered = {k: seen if k in current else last_seen[k] for k in told}
        if alert == "degraded":
            alerted = {**remembered, **dict.fromkeys(current, seen)}
        elif alert in ("reconnected", "resolved"):
            alerted = dict.fromkeys(current, seen)  # the notice names the scopes still missing
        else:
            alerted = remembered
        changed = previous["status"] != status
        values: dict[str, Any] = {
            "display_name": display_name or previous["display_name"],
            "status": status,
            "status_since": now if changed else previous["status_since"],
            "reason": reason,
            "last_checked_at": now,
            "missing_scopes": sorted(missing_scopes),
            "streams_missing_scopes": per_stream,
            "stream_problems": problems,
            "alerted_problems": alerted,
        }
        if error is not None:
            values["last_error"] = shorten(scrub(error), 2000)
        if status in ("connected", "degraded") and succeeded:
            values["last_success_at"] = now
        if alert is not None:
            values.update(last_alert_at=now, alert_kind=alert, alerts_sent=t.c.alerts_sent + 1)
        conn.execute(t.update().where(t.c.tenant_id == tenant_id).values(**values))
    return HealthUpdate(
        tenant_id,
        previous["status"],
        status,
        values["status_since"],
        alert,
        previous["last_alert_at"],
        previous["alert_kind"],
        reason,
        problems,
        stored,
        tuple(told),
    )


def release_alert(engine: Engine, update: HealthUpdate) -> None:
    """Undo an alert claim whose delivery failed, so the next run tries again.

    The problems it would have told of are forgotten as told too: a ``degraded`` alert whose
    problems stay the same is sent again, not taken as delivered.
    """
    t = connection_health
    with engine.begin() as conn:
        conn.execute(
            t.update()
            .where(t.c.tenant_id == update.tenant_id)
            .values(
                last_alert_at=update.previous_alert_at,
                alert_kind=update.previous_alert_kind,
                alerts_sent=t.c.alerts_sent - 1,
                alerted_problems=update.previous_alerted,
            )
        )


def read_health(engine: Engine, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's row as a dict (None when absent)."""
    ensure_table(engine)
    t = connection_health
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.tenant_id == tenant_id)).one_or_none()
    return dict(row._mapping) if row else None
