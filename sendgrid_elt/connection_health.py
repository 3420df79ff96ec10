"""Connection health per tenant, and when to tell an admin about it (the public face).

The table and the alert decision live in :mod:`sendgrid_elt.health_store` (re-exported here:
``connection_health``, :func:`record_health`, :func:`decide_alert`, :func:`read_health`, ...).
This module adds the channels and the DAG helpers:

* :func:`reconnect_guard` wraps extraction: on ``ReconnectRequired`` record ``needs_reconnect``,
  alert if due, raise ``AirflowFailException`` so the task does not retry;
* :func:`check_connection` runs ``GET /v3/scopes`` at the start of a run: records
  connected/degraded (missing scopes), returns which streams can run;
* :func:`record_streams` runs at the end of a run: streams that failed, skipped a subuser that
  still exists (``skipped_units``), had parent ids refused (``refused_ids``: API keys,
  templates) or rejected records make the tenant ``degraded`` (an alert
  only for a problem not told yet), a clean run clears them (one ``resolved`` notice when
  problems had been told).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from sendgrid_hook.display import PrintableLog, human_instant
from sendgrid_hook.errors import ReconnectRequired
from sendgrid_hook.redaction import scrub

from sendgrid_elt.alert_settings import AlertSettings, undelivered
from sendgrid_elt.health_problems import (
    HELD,
    REFUSED,
    SKIPPED,
    problems_text,
    stream_problems,
    told_text,
)
from sendgrid_elt.health_store import (
    DEFAULT_REMINDER,
    KEEP,
    RUN_PROBLEM,
    AlertKind,
    HealthUpdate,
    Status,
    connection_health,
    decide_alert,
    ensure_table,
    health_engine,
    read_health,
    record_health,
    release_alert,
)
from sendgrid_elt.stream_outcome import failure

if TYPE_CHECKING:
    from sendgrid_hook.hooks.sendgrid import SendGridHook
    from sendgrid_hook.scopes import ScopeReport
    from sqlalchemy.engine import Engine

log = PrintableLog(logging.getLogger(__name__))  # display names forge no line

__all__ = [
    "DEFAULT_REMINDER",
    "HELD",
    "KEEP",
    "REFUSED",
    "RUN_PROBLEM",
    "SKIPPED",
    "AlertKind",
    "AlertSettings",
    "HealthUpdate",
    "Status",
    "check_connection",
    "connection_health",
    "decide_alert",
    "ensure_table",
    "handle_reconnect_required",
    "health_engine",
    "read_health",
    "reconnect_guard",
    "record_health",
    "record_streams",
    "release_alert",
    "send_alert",
    "stream_problems",
]


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

    When no external channel took it and one failed, or the alert Variables could not be read,
    the claim is released so that the next run retries the alert (:func:`undelivered`), the
    problems it told of included. A ``resolved`` notice names the problems told before; a
    ``degraded`` one gives the advice of its problems' kinds (a refused subuser's is not a
    failed stream's).
    """
    from sendgrid_hook.notifications.reconnect import ReconnectNotifier

    if update.alert is None:
        return []
    if update.alert == "resolved":
        reason = told_text(update.told)
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
        since=human_instant(update.status_since),
        missing_scopes=missing_scopes,
        problems=sorted(
            {str((p or {}).get("kind")) for p in (update.stream_problems or {}).values()}
        ),
    )
    notifier.notify(context or {})
    if undelivered(notifier, settings):
        release_alert(engine, update)
    return notifier.delivered


def _settings_for(hook: SendGridHook, settings: AlertSettings | None) -> AlertSettings:
    return (settings or AlertSettings.from_airflow()).for_tenant(hook)


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
        :func:`sendgrid_elt.stream_scopes.scope_report`).

    Raises:
        AirflowFailException: The credential no longer works (after recording and alerting).
    """
    from sendgrid_elt import stream_scopes

    engine = engine or health_engine()
    with reconnect_guard(hook, engine=engine, settings=settings, context=context):
        report = stream_scopes.scope_report(hook.granted_scopes(), streams)
    # the credential's missing scopes, whichever streams this run reads (a partial rerun must
    # not flip the health to connected, and the next full run alert again)
    whole = stream_scopes.scope_report(hook.granted_scopes(), None) if streams else report
    settings = _settings_for(hook, settings)
    name = _display_name(hook)
    status: Status = "degraded" if whole.degraded else "connected"
    update = record_health(
        engine,
        tenant_id=hook.tenant_id,
        status=status,
        display_name=name,
        missing_scopes=whole.missing_scopes,
        streams_missing_scopes=whole.skipped,
        stream_problems=KEEP,
        reminder_after=settings.reminder_after,
    )
    if report.degraded:
        log.warning(
            "%s: skipping streams for missing scopes (%d): %s",
            name,
            len(report.skipped),
            ", ".join(f"{s} ({', '.join(m)})" for s, m in report.skipped.items()),
        )
    if update.alert:
        send_alert(engine, update, display_name=name, settings=settings,
                   reason=problems_text(update.stream_problems),
                   missing_scopes=whole.missing_scopes, context=context)  # fmt: skip
    return report


def record_run_failure(
    hook: SendGridHook,
    exc: BaseException,
    *,
    engine: Engine | None = None,
    settings: AlertSettings | None = None,
    context: Any = None,
) -> HealthUpdate:
    """Record a run that failed outside its streams: ``degraded``, one alert, the error kept.

    The connection's settings, the scope check, the API's clock, the state read or the
    warehouse failed (an invalid extra, a 503 after the retries, a timeout): no stream outcome
    says so, and the tenant must not keep reading as connected (a new one as never connected).
    The stored scopes are kept (not read this time); the next run that reaches its streams
    clears the problem (:func:`record_streams`).
    """
    engine = engine or health_engine()
    settings = _settings_for(hook, settings)
    name = _display_name(hook)
    detail = failure(exc, 300)
    update = record_health(
        engine,
        tenant_id=hook.tenant_id,
        status="degraded",
        display_name=name,
        error=detail,
        missing_scopes=None,
        stream_problems={RUN_PROBLEM: {"kind": "failed", "detail": detail, "count": 0}},
        covered=[RUN_PROBLEM],
        reminder_after=settings.reminder_after,
        succeeded=False,
    )
    log.warning("%s: the run failed outside its streams: %s", name, detail)
    if update.alert:
        send_alert(engine, update, display_name=name, settings=settings,
                   reason=problems_text(update.stream_problems), context=context)  # fmt: skip
    return update


def record_streams(
    hook: SendGridHook,
    outcomes: Mapping[str, Any],
    *,
    engine: Engine | None = None,
    settings: AlertSettings | None = None,
    context: Any = None,
) -> HealthUpdate:
    """Record the end of a run: failed streams, skipped subusers, rejects: ``degraded``.

    A ``degraded`` alert only for a problem no delivered alert told of (the same or fewer
    problems, run after run or retry after retry, send nothing); a run whose streams all loaded
    clears them (``connected`` unless scopes are missing, then one ``resolved`` notice). Streams
    the run did not read keep their stored problems.

    Args:
        hook: The tenant's hook (scopes are cached from the run's check).
        outcomes: Stream name -> outcome of this run.
        engine: Warehouse engine (default: the ``sendgrid_warehouse`` connection).
        settings: Alert settings (default: from Airflow Variables).
        context: The task context handed to notifiers.

    Returns:
        The health transition.
    """
    from sendgrid_elt import stream_scopes

    engine = engine or health_engine()
    # the credential's, not the run's
    report = stream_scopes.scope_report(hook.granted_scopes(), None)
    settings = _settings_for(hook, settings)
    name = _display_name(hook)
    problems = stream_problems(outcomes)
    update = record_health(
        engine,
        tenant_id=hook.tenant_id,
        status="connected",
        display_name=name,
        missing_scopes=report.missing_scopes,
        streams_missing_scopes=report.skipped,
        stream_problems=problems,
        covered=[*outcomes, RUN_PROBLEM],  # the run reached its streams
        reminder_after=settings.reminder_after,
    )
    if problems:
        log.warning("%s: %s", name, problems_text(problems))
    if update.alert:
        send_alert(engine, update, display_name=name, settings=settings,
                   reason=problems_text(update.stream_problems),
                   missing_scopes=report.missing_scopes, context=context)  # fmt: skip
    return update
