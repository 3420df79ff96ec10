"""Connection health per tenant, and when to tell an admin about it.

The warehouse table ``sendgrid_staging.connection_health`` holds one row per tenant
(Airflow connection): ``connected`` / ``degraded`` (scopes missing, the rest still loads) /
``needs_reconnect`` / ``never_connected``, since when, the last (scrubbed) error, the last
success, the missing scopes and the last alert. :func:`record_health` updates a row and decides
the alert **in the same transaction** (row lock), so concurrent tasks never send two alerts for
one transition:

* into ``needs_reconnect`` -> ``needs_reconnect`` alert (once);
* still ``needs_reconnect`` -> nothing, until ``reminder_after`` has passed since the last
  alert -> ``reminder``;
* out of ``needs_reconnect`` -> ``reconnected``;
* into ``degraded`` (or a different set of missing scopes) -> ``degraded``.

DAG helpers: :func:`reconnect_guard` (wrap extraction: on ``ReconnectRequired`` record, alert
if due, raise ``AirflowFailException`` so the task does not retry) and :func:`check_connection`
(``GET /v3/scopes`` at the start of a run: records connected/degraded, returns which streams can
run).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from sendgrid_hook.errors import ReconnectRequired
from sendgrid_hook.redaction import scrub
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, insert

from sendgrid_elt.settings import (
    ALERT_RECIPIENTS_VARIABLE,
    ALERT_SLACK_VARIABLE,
    RECONNECT_REMINDER_VARIABLE,
    STAGING_SCHEMA,
)

if TYPE_CHECKING:
    from sendgrid_hook.hooks.sendgrid import SendGridHook
    from sendgrid_hook.scopes import ScopeReport
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

Status = Literal["connected", "degraded", "needs_reconnect", "never_connected"]
AlertKind = Literal["needs_reconnect", "reminder", "reconnected", "degraded"]
DEFAULT_REMINDER = dt.timedelta(hours=24)
_DDL_LOCK = 0x5E9D_4EA1

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


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go (defaults from Airflow Variables)."""

    to: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"
    from_email: str | None = None
    slack_webhook_conn_id: str | None = None
    connect_base_url: str | None = None
    reminder_after: dt.timedelta = DEFAULT_REMINDER
    extra_to: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_airflow(cls, **overrides: Any) -> AlertSettings:
        """Settings from the alert Variables (recipients, Slack connection, reminder hours).

        Keyword arguments win over the Variables.
        """
        hours = _variable(RECONNECT_REMINDER_VARIABLE)
        values: dict[str, Any] = {
            "to": tuple(_split(_variable(ALERT_RECIPIENTS_VARIABLE))),
            "slack_webhook_conn_id": _variable(ALERT_SLACK_VARIABLE),
            "reminder_after": dt.timedelta(hours=float(hours)) if hours else DEFAULT_REMINDER,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _variable(key: str) -> str | None:
    try:
        from airflow.sdk import Variable

        value = Variable.get(key, default=None)
    except Exception:  # outside a task with no metadata DB: use defaults
        return None
    return str(value) if value not in (None, "") else None


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").replace(";", ",").split(",") if v.strip()]


# -- storage ------------------------------------------------------------------------------
def health_engine() -> Engine:
    """Engine on the ``sendgrid_warehouse`` connection.

    Raises:
        WarehouseNotConfigured: The connection is not configured.
    """
    from sendgrid_elt.warehouse import require_target

    return create_engine(require_target().sqlalchemy_url(), pool_pre_ping=True)


def ensure_table(engine: Engine) -> None:
    """Create the schema and table if missing (idempotent, safe under concurrency)."""
    with engine.begin() as conn:
        conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _DDL_LOCK})
        conn.execute(text(f"create schema if not exists {STAGING_SCHEMA}"))
        metadata.create_all(conn, checkfirst=True)


def decide_alert(
    previous: Mapping[str, Any] | None,
    status: Status,
    now: dt.datetime,
    reminder_after: dt.timedelta,
    missing_scopes: Sequence[str] = (),
) -> AlertKind | None:
    """Pure decision: which alert (if any) the transition ``previous -> status`` deserves."""
    prev_status = previous["status"] if previous else "never_connected"
    last_alert = previous.get("last_alert_at") if previous else None
    last_kind = previous.get("alert_kind") if previous else None
    if status == "needs_reconnect":
        if prev_status != "needs_reconnect":
            return "needs_reconnect"
        if last_alert is None or last_kind not in ("needs_reconnect", "reminder"):
            return "needs_reconnect"  # the first alert was never delivered
        return "reminder" if now - last_alert >= reminder_after else None
    if prev_status == "needs_reconnect":
        return "reconnected"
    if status == "degraded":
        before = sorted(previous.get("missing_scopes") or []) if previous else []
        if prev_status != "degraded" or before != sorted(missing_scopes):
            return "degraded"
    return None


def record_health(
    engine: Engine,
    *,
    tenant_id: str,
    status: Status,
    display_name: str | None = None,
    reason: str | None = None,
    error: str | None = None,
    missing_scopes: Sequence[str] = (),
    streams_missing_scopes: Mapping[str, Sequence[str]] | None = None,
    reminder_after: dt.timedelta = DEFAULT_REMINDER,
    now: dt.datetime | None = None,
) -> HealthUpdate:
    """Upsert the tenant's row and claim the due alert atomically."""
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
        alert = decide_alert(previous, status, now, reminder_after, missing_scopes)
        changed = previous["status"] != status
        values: dict[str, Any] = {
            "display_name": display_name or previous["display_name"],
            "status": status,
            "status_since": now if changed else previous["status_since"],
            "reason": reason,
            "last_checked_at": now,
            "missing_scopes": sorted(missing_scopes),
            "streams_missing_scopes": per_stream,
        }
        if error is not None:
            values["last_error"] = scrub(error)[:2000]
        if status in ("connected", "degraded"):
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
    )


def release_alert(engine: Engine, update: HealthUpdate) -> None:
    """Undo an alert claim whose delivery failed, so the next run tries again."""
    t = connection_health
    with engine.begin() as conn:
        conn.execute(
            t.update()
            .where(t.c.tenant_id == update.tenant_id)
            .values(
                last_alert_at=update.previous_alert_at,
                alert_kind=update.previous_alert_kind,
                alerts_sent=t.c.alerts_sent - 1,
            )
        )


def read_health(engine: Engine, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's row as a dict (None when absent)."""
    ensure_table(engine)
    t = connection_health
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.tenant_id == tenant_id)).one_or_none()
    return dict(row._mapping) if row else None


# -- alerts -------------------------------------------------------------------------------
def send_alert(
    engine: Engine,
    update: HealthUpdate,
    *,
    display_name: str,
    reason: str,
    settings: AlertSettings,
    missing_scopes: Sequence[str] = (),
    context: Any = None,
) -> list[str]:
    """Send ``update.alert`` through :class:`ReconnectNotifier`; return delivered channels.

    When an external channel was configured and every external channel failed, the claim is
    released so that the next run retries the alert.
    """
    from sendgrid_hook.notifications.reconnect import ReconnectNotifier

    if update.alert is None:
        return []
    notifier = ReconnectNotifier(
        tenant_id=update.tenant_id,
        kind=update.alert,
        reason=reason,
        display_name=display_name,
        to=list(settings.to) + list(settings.extra_to),
        smtp_conn_id=settings.smtp_conn_id,
        from_email=settings.from_email,
        slack_webhook_conn_id=settings.slack_webhook_conn_id,
        connect_base_url=settings.connect_base_url,
        since=update.status_since.isoformat(timespec="seconds"),
        missing_scopes=missing_scopes,
    )
    notifier.notify(context or {})
    external = [c for c in notifier.delivered if c != "log"]
    if notifier.failed and not external:
        release_alert(engine, update)
    return notifier.delivered


def _settings_for(hook: SendGridHook, settings: AlertSettings | None) -> AlertSettings:
    base = settings or AlertSettings.from_airflow()
    try:
        emails = tuple(hook.settings.alert_emails)
    except Exception:  # unreadable connection: alert the global recipients only
        emails = ()
    return AlertSettings(**{**base.__dict__, "extra_to": emails})


def _display_name(hook: SendGridHook) -> str:
    try:
        return hook.display_name
    except Exception:
        return hook.tenant_id


def handle_reconnect_required(
    hook: SendGridHook,
    exc: ReconnectRequired,
    *,
    engine: Engine | None = None,
    settings: AlertSettings | None = None,
    context: Any = None,
) -> NoReturn:
    """Record ``needs_reconnect``, alert if due, then fail the task without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    engine = engine or health_engine()
    settings = _settings_for(hook, settings)
    name = _display_name(hook)
    message = scrub(f"{exc} [{exc.reason}]")
    update = record_health(
        engine,
        tenant_id=hook.tenant_id,
        status="needs_reconnect",
        display_name=name,
        reason=exc.reason,
        error=message,
        reminder_after=settings.reminder_after,
    )
    if update.alert:
        send_alert(engine, update, display_name=name, reason=message, settings=settings,
                   context=context)  # fmt: skip
    else:
        log.warning("%s still needs reconnecting (alert already sent): %s", name, message)
    raise AirflowFailException(
        f"SendGrid tenant {hook.tenant_id!r} needs to be reconnected: {message}"
    ) from None


@contextmanager
def reconnect_guard(
    hook: SendGridHook,
    *,
    engine: Engine | None = None,
    settings: AlertSettings | None = None,
    context: Any = None,
) -> Iterator[None]:
    """Turn a :class:`ReconnectRequired` raised in the block into health + alert + fail."""
    try:
        yield
    except ReconnectRequired as exc:
        handle_reconnect_required(hook, exc, engine=engine, settings=settings, context=context)


def check_connection(
    hook: SendGridHook,
    streams: Sequence[str] | None = None,
    *,
    engine: Engine | None = None,
    settings: AlertSettings | None = None,
    context: Any = None,
) -> ScopeReport:
    """Check scopes once per run, record connected/degraded, send a due notice.

    Args:
        hook: The tenant's hook (its ``/v3/scopes`` answer is cached: one call per run).
        streams: The streams this run reads (default: the whole catalog).
        engine: Warehouse engine (default: the ``sendgrid_warehouse`` connection).
        settings: Alert settings (default: from Airflow Variables).
        context: The task context handed to notifiers.

    Returns:
        Which streams run and which are skipped for missing scopes (see
        :func:`sendgrid_elt.catalog.scope_report`).

    Raises:
        AirflowFailException: The credential no longer works (after recording and alerting).
    """
    from sendgrid_elt import catalog

    engine = engine or health_engine()
    with reconnect_guard(hook, engine=engine, settings=settings, context=context):
        report = catalog.scope_report(hook.granted_scopes(), streams)
    settings = _settings_for(hook, settings)
    name = _display_name(hook)
    status: Status = "degraded" if report.degraded else "connected"
    update = record_health(
        engine,
        tenant_id=hook.tenant_id,
        status=status,
        display_name=name,
        reason="missing_scopes" if report.degraded else None,
        missing_scopes=report.missing_scopes,
        streams_missing_scopes=report.skipped,
        reminder_after=settings.reminder_after,
    )
    if report.degraded:
        log.warning(
            "%s: skipping %d stream(s) for missing scopes: %s",
            name,
            len(report.skipped),
            ", ".join(f"{s} ({', '.join(m)})" for s, m in report.skipped.items()),
        )
    if update.alert:
        send_alert(engine, update, display_name=name, reason=update.alert, settings=settings,
                   missing_scopes=report.missing_scopes, context=context)  # fmt: skip
    return report
