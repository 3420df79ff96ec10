"""Overage ahead: one alert per tenant and credit period when the projection passes the plan.

After a transform, :func:`send_overage_alerts` reads ``rpt_sendgrid_overage_forecast`` (the
tenants whose projected volume passes their plan's credits before the period ends, projected
from at least 7 days of data, or that already passed them; dbt computes every figure) and,
for each (tenant, period) not alerted yet, claims it in ``sendgrid_staging.overage_alerts``
(insert ... on conflict do nothing: concurrent runs never send twice) and sends it through
the channels of the reconnect alerts (task log, e-mail to ``sendgrid_alert_recipients`` and
the tenant's ``alert_emails``, Slack). When every external channel configured failed, the
claim is released so that the next run tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sendgrid_hook.display import human_instant
from sendgrid_hook.notifications.reconnect import ReconnectNotifier, one_line
from sqlalchemy import Column, Date, DateTime, MetaData, Numeric, Table, Text, select, text
from sqlalchemy.dialects.postgresql import insert

from sendgrid_elt.alert_settings import AlertSettings, undelivered
from sendgrid_elt.settings import MARTS_SCHEMA, OVERAGE_FORECAST_MODEL, STAGING_SCHEMA

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

FORECAST_MODEL = OVERAGE_FORECAST_MODEL
_DDL_LOCK = 0x5E9D_0AE1

metadata = MetaData(schema=STAGING_SCHEMA)
_ts = DateTime(timezone=True)
overage_alerts = Table(
    "overage_alerts",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("period_start_date", Date, primary_key=True),
    Column("alerted_at", _ts, nullable=False),
    Column("as_of", _ts, nullable=False),
    Column("projected_exhaustion_date", Date),
    Column("projected_overage_emails", Numeric),
    Column("projected_overage_cost_usd", Numeric(12, 2)),
    Column("channels", Text),
    comment="one overage alert per tenant and credit period (dedupe state of overage_alerts.py)",
)


@dataclass(frozen=True)
class OverageForecast:
    """One row of ``rpt_sendgrid_overage_forecast`` (the figures dbt computed)."""

    tenant_id: str
    display_name: str | None
    plan_name: str | None
    period_start_date: dt.date
    period_end_date: dt.date
    credits_total: int | None
    credits_used: int | None
    projected_credits_used: int | None
    projected_exhaustion_date: dt.date | None
    projected_overage_emails: int | None
    projected_overage_cost_usd: Decimal | None
    projection_confidence: str
    is_over_plan: bool
    alert_text: str | None
    as_of_at: dt.datetime


class OverageNotifier(ReconnectNotifier):
    """The reconnect notifier's channels (log, e-mail, Slack) with an overage message.

    Args:
        forecast: The tenant's forecast row.
        **kwargs: Channel settings of :class:`ReconnectNotifier` (``to``, ``smtp_conn_id``,
            ``slack_webhook_conn_id``, ...).
    """

    def __init__(self, *, forecast: OverageForecast, **kwargs: Any) -> None:
        super().__init__(
            tenant_id=forecast.tenant_id,
            kind="degraded",
            display_name=forecast.display_name or forecast.tenant_id,
            **kwargs,
        )
        self.forecast = forecast

    def message(self) -> tuple[str, str]:
        """Subject and body: who, when the credits run out, what the overage costs."""
        f = self.forecast
        name = self.display_name
        if f.is_over_plan:
            subject = f"[SendGrid] {name} is over its plan's credits"
        else:
            when = f.projected_exhaustion_date.isoformat() if f.projected_exhaustion_date else "?"
            subject = f"[SendGrid] {name} will run out of credits on {when}"
        cost = (
            f"about ${f.projected_overage_cost_usd:,.2f}"
            if f.projected_overage_cost_usd is not None
            else "at the plan's overage rate (unknown)"
        )
        body = (
            f"{name} ({f.tenant_id}), plan {one_line(f.plan_name or 'unknown')}: "
            f"{f.alert_text}.\n"
            f"Credit period {f.period_start_date} to {f.period_end_date}: "
            f"{_int(f.credits_used)} of {_int(f.credits_total)} credits used, "
            f"{_int(f.projected_credits_used)} projected by the end of the period "
            f"(confidence {f.projection_confidence}).\n"
            f"Projected overage: {_int(f.projected_overage_emails)} emails, {cost}.\n"
            "What to do: slow non-essential sends, or upgrade the plan before the credits run "
            "out (see the plan recommendation on the dashboard).\n"
            f"Figures as of {human_instant(f.as_of_at)}; this is the only alert for this period."
        )
        return subject, body


def _int(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def ensure_table(engine: Engine) -> None:
    """Create ``overage_alerts`` if missing (idempotent, safe under concurrency)."""
    with engine.begin() as conn:
        conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _DDL_LOCK})
        conn.execute(text(f'create schema if not exists "{STAGING_SCHEMA}"'))
        metadata.create_all(conn, checkfirst=True)


def read_forecasts(conn: Connection) -> list[OverageForecast]:
    """Rows of ``rpt_sendgrid_overage_forecast`` (tenants whose overage is expected)."""
    names = [f for f in OverageForecast.__dataclass_fields__]
    rows = conn.execute(
        text(
            f'select {", ".join(names)} from "{MARTS_SCHEMA}".{FORECAST_MODEL}'  # noqa: S608
            " order by tenant_id, period_start_date"
        )
    ).mappings()
    return [OverageForecast(**dict(r)) for r in rows]


#: A claim whose delivery never recorded its channels (the worker died between claiming and
#: sending) is taken again after this long: the period's alert is not lost.
STALE_CLAIM = dt.timedelta(hours=1)


def _claim(conn: Connection, f: OverageForecast) -> bool:
    """Insert the (tenant, period) claim; False when it was alerted (or is being alerted)."""
    row = insert(overage_alerts).values(
        tenant_id=f.tenant_id,
        period_start_date=f.period_start_date,
        alerted_at=text("now()"),
        as_of=f.as_of_at,
        projected_exhaustion_date=f.projected_exhaustion_date,
        projected_overage_emails=f.projected_overage_emails,
        projected_overage_cost_usd=f.projected_overage_cost_usd,
    )
    stale = overage_alerts.c.channels.is_(None) & (
        overage_alerts.c.alerted_at
        < text("now() - make_interval(secs => :stale)").bindparams(
            stale=STALE_CLAIM.total_seconds()
        )
    )
    result = conn.execute(
        row.on_conflict_do_update(
            index_elements=["tenant_id", "period_start_date"],
            set_={c: row.excluded[c] for c in ("alerted_at", "as_of", "projected_exhaustion_date",
                  "projected_overage_emails", "projected_overage_cost_usd")},
            where=stale,
        ).returning(overage_alerts.c.tenant_id)
    )  # fmt: skip
    return result.first() is not None


def send_overage_alerts(
    engine: Engine | None = None,
    *,
    settings: AlertSettings | None = None,
    context: Any = None,
) -> list[dict[str, Any]]:
    """Send the due overage alerts; return what was sent (tenant, period, channels).

    Args:
        engine: Warehouse engine (default: the ``sendgrid_warehouse`` connection).
        settings: Alert channels (default: the alert Variables, as reconnect alerts use).
        context: Airflow task context handed to the notifier.

    Returns:
        One ``{"tenant_id", "period_start_date", "channels"}`` per alert sent this run.
    """
    from sendgrid_elt.connection_health import health_engine

    engine = engine or health_engine()
    settings = settings or AlertSettings.from_airflow()
    ensure_table(engine)
    with engine.connect() as conn:
        forecasts = read_forecasts(conn)
    sent: list[dict[str, Any]] = []
    for forecast in forecasts:
        with engine.begin() as conn:
            if not _claim(conn, forecast):
                continue
        key = (overage_alerts.c.tenant_id == forecast.tenant_id) & (
            overage_alerts.c.period_start_date == forecast.period_start_date
        )
        try:
            channels = _deliver(forecast, settings, context)
        except Exception:
            with engine.begin() as conn:  # nobody was told: the next run tries again
                conn.execute(overage_alerts.delete().where(key))
            raise
        with engine.begin() as conn:
            if channels is None:  # every external channel failed: try again next run
                conn.execute(overage_alerts.delete().where(key))
                continue
            conn.execute(overage_alerts.update().where(key).values(channels=",".join(channels)))
        sent.append(
            {
                "tenant_id": forecast.tenant_id,
                "period_start_date": forecast.period_start_date.isoformat(),
                "channels": channels,
            }
        )
    log.info(
        "overage alerts: %d sent; %d tenants projected past their credits (one alert per period)",
        len(sent),
        len(forecasts),
    )
    return sent


def _deliver(forecast: OverageForecast, settings: AlertSettings, context: Any) -> list[str] | None:
    """Notify; the delivered channels, or None when every external channel failed.

    The tenant connection's ``alert_emails`` are added (:meth:`AlertSettings.for_tenant`).
    """
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    settings = settings.for_tenant(SendGridHook(sendgrid_conn_id=forecast.tenant_id))
    notifier = OverageNotifier(
        forecast=forecast,
        to=list(settings.to) + list(settings.extra_to),
        smtp_conn_id=settings.smtp_conn_id,
        from_email=settings.from_email,
        slack_webhook_conn_id=settings.slack_webhook_conn_id,
        connect_base_url=settings.connect_base_url,
    )
    notifier.notify(context or {})
    if undelivered(notifier, settings):
        return None
    return list(notifier.delivered)


def alerted(engine: Engine) -> list[dict[str, Any]]:
    """The dedupe table's rows (tenant, period, when, channels)."""
    ensure_table(engine)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(overage_alerts))]
