"""Render the dashboard as one self-contained HTML page (inline CSS and SVG, no script, no URL).

Every figure is an element with ``data-tenant`` / ``data-metric`` / ``data-value`` (the mart
value, unrounded; empty for null) so a test can read the page back and compare it with the
marts. Every text from the marts is escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from sendgrid_dashboard.charts import (
    Frame,
    PeriodBar,
    Series,
    bar_chart,
    data_attrs,
    fmt_int,
    fmt_pct,
    gauge,
    line_chart,
    period_chart,
)
from sendgrid_dashboard.queries import (
    ApiKey,
    Dashboard,
    Feature,
    Portfolio,
    Tenant,
)
from sendgrid_elt.settings import CONNECT_PAGE_PATH

STATUS_COLORS = {
    "overage": "#d64545",
    "at_risk": "#f08c2e",
    "healthy": "#22a06b",
    "under_used": "#6b7fd7",
    "unknown": "#a0a9b8",
}
STATUS_LABELS = {
    "overage": "Overage",
    "at_risk": "At risk",
    "healthy": "Healthy",
    "under_used": "Under-used",
    "unknown": "Unknown",
}
CONNECTION_LABELS = {
    "connected": "Connected",
    "degraded": "Degraded",
    "needs_reconnect": "Needs reconnect",
    "never_connected": "Never connected",
}
CONNECTION_TONES = {
    "connected": "good",
    "degraded": "warn",
    "needs_reconnect": "bad",
    "never_connected": "muted",
}
RECOMMENDATION_TONES = {
    "downgrade": "good",
    "upgrade": "warn",
    "keep": "info",
    "unknown": "muted",
    "no_data": "muted",
}
FEATURE_STATES = {
    "used": ("In use", "used"),
    "unused_paid": ("Paid, unused", "unused"),
    "not_licensed": ("Not in plan", "off"),
    "unknown": ("License unknown", "unknown"),
}
SUPPRESSION_KINDS = (
    ("bounce", "Bounces", "#eb5757"),
    ("block", "Blocks", "#f2994a"),
    ("spam_report", "Spam reports", "#9b51e0"),
    ("invalid_email", "Invalid", "#2d9cdb"),
    ("unsubscribe", "Unsubscribes", "#8a94a6"),
)
WIDE = Frame(width=760, height=330)
HALF = Frame(width=560, height=240)


# --- formatting -------------------------------------------------------------------------------


def e(value: object) -> str:
    return escape("" if value is None else str(value))


def n_int(value: int | Decimal | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def n_pct100(value: Decimal | float | None) -> str:
    """A percentage column (0–100 scale)."""
    return "—" if value is None else f"{float(value):,.1f}%"


def n_rate(value: Decimal | float | None) -> str:
    """A ratio column (0–1 scale)."""
    return "—" if value is None else fmt_pct(float(value))


def n_usd(value: Decimal | None) -> str:
    if value is None:
        return "—"
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def n_usd_change(value: Decimal | None) -> str:
    """A monthly cost change: ``+$250.00`` (costs more), ``saves $159.05``, ``no change``."""
    if value is None:
        return "—"
    if value > 0:
        return f"+{n_usd(value)}"
    return f"saves {n_usd(-value)}" if value < 0 else "no change"


def n_when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def n_hours(value: Decimal | None) -> str:
    if value is None:
        return "—"
    hours = float(value)
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def day_label(day: dt.date) -> str:
    return f"{day:%b} {day.day}"


def month_label(day: dt.date) -> str:
    return f"{day:%b} ’{day:%y}"


def fig(
    tenant: str | None,
    metric: str,
    value: object,
    text: str,
    *,
    tag: str = "span",
    cls: str = "",
    extra: Mapping[str, object] | None = None,
) -> str:
    """A figure element: shown text plus the mart value in ``data-value``."""
    attrs: dict[str, object] = {}
    if tenant is not None:
        attrs["tenant"] = tenant
    attrs |= {"metric": metric, "value": value, **(extra or {})}
    klass = f' class="{e(cls)}"' if cls else ""
    return f"<{tag}{klass}{data_attrs(attrs)}>{text}</{tag}>"


def col(
    tenant: str | None,
    prefix: str,
    obj: object | None,
    name: str,
    fmt: Callable[[Any], str],
    **kwargs: Any,
) -> str:
    """``fig`` for the column ``name`` of a mart row ``obj`` (None when the row is missing).

    The metric is ``prefix.name`` (``name`` alone without a prefix), shown as ``fmt(value)``.
    """
    value = getattr(obj, name) if obj is not None else None
    metric = f"{prefix}.{name}" if prefix else name
    return fig(tenant, metric, value, e(fmt(value)), **kwargs)


def badge(text: str, tone: str, *, attrs: Mapping[str, object] | None = None) -> str:
    return f'<span class="badge {e(tone)}"{data_attrs(attrs)}>{e(text)}</span>'


def chips(values: str | None, tone: str = "") -> str:
    items = [v.strip() for v in (values or "").split(",") if v.strip()]
    if not items:
        return '<span class="muted">none</span>'
    return "".join(f'<span class="chip {e(tone)}">{e(v)}</span>' for v in items)


def card(title: str, body: str, *, sub: str = "", cls: str = "", section: str = "") -> str:
    subtitle = f'<p class="sub">{sub}</p>' if sub else ""
    attr = f' data-section="{e(section)}"' if section else ""
    return (
        f'<div class="card {e(cls)}"{attr}><div class="card-head"><h3>{e(title)}</h3>'
        f"{subtitle}</div>{body}</div>"
    )


def meter(ratio: float | None, color: str, *, over: bool = False) -> str:
    width = 0.0 if ratio is None else max(0.0, min(ratio, 1.0)) * 100
    over_cls = " over" if over else ""
    return (
        f'<span class="meter{over_cls}"><span style="width:{width:.1f}%;'
        f'background:{color}"></span></span>'
    )


# --- page -------------------------------------------------------------------------------------


def render_dashboard(dashboard: Dashboard) -> str:
    """The whole page as one HTML string."""
    anchors = {t.tenant_id: f"tenant-{i + 1}" for i, t in enumerate(dashboard.tenants)}
    body = [
        _header(dashboard),
        '<main class="wrap">',
        _alerts(dashboard.tenants, anchors),
        _portfolio_table(dashboard.tenants, anchors),
        *(_tenant_section(t, anchors[t.tenant_id]) for t in dashboard.tenants),
        "</main>",
        _footer(dashboard),
    ]
    if not dashboard.tenants:
        body.insert(
            3,
            '<div class="card empty-state"><h3>No SendGrid organization yet</h3><p>Connect '
            f'one on the <a href="{CONNECT_PAGE_PATH}">SendGrid connections</a> page, then run '
            "the extract and transform DAGs.</p></div>",
        )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        "<title>SendGrid utilization dashboard</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _header(dashboard: Dashboard) -> str:
    p: Portfolio = dashboard.portfolio
    kpis = [
        _kpi(
            "Organizations",
            fig(None, "tenant_count", p.tenant_count, n_int(p.tenant_count)),
            f"{fig(None, 'connected_count', p.connected_count, n_int(p.connected_count))}"
            " connected",
        ),
        _kpi(
            "Emails requested · 30 days",
            fig(None, "requests_30d", p.requests_30d, e(fmt_int(p.requests_30d))),
            f"{n_int(p.requests_30d)} across all organizations",
        ),
        _kpi(
            "Credit overage",
            fig(
                None,
                "credits_overage_count",
                p.credits_overage_count,
                n_int(p.credits_overage_count),
            ),
            f"organization(s) over plan · {col(None, '', p, 'credits_at_risk_count', n_int)}"
            " more projected over",
            tone="bad" if p.credits_overage_count else "warn" if p.credits_at_risk_count else "",
        ),
        _kpi(
            "Features in use",
            f"{fig(None, 'features_used', p.features_used, n_int(p.features_used))}"
            f'<span class="of"> / '
            f"{fig(None, 'features_licensed', p.features_licensed, n_int(p.features_licensed))}"
            "</span>",
            "used of licensed, all organizations",
        ),
        _kpi(
            "Potential savings / month",
            fig(
                None,
                "downgrade_savings_usd",
                p.downgrade_savings_usd,
                e(n_usd(p.downgrade_savings_usd)),
            ),
            f"{fig(None, 'downgrade_count', p.downgrade_count, n_int(p.downgrade_count))}"
            " downgrade(s) recommended",
            tone="good" if p.downgrade_savings_usd > 0 else "",
        ),
        _kpi(
            "Needs reconnect",
            fig(
                None,
                "needs_reconnect_count",
                p.needs_reconnect_count,
                n_int(p.needs_reconnect_count),
            ),
            f"{fig(None, 'degraded_count', p.degraded_count, n_int(p.degraded_count))} degraded"
            + (
                f' · <a href="{CONNECT_PAGE_PATH}">reconnect</a>' if p.needs_reconnect_count else ""
            ),
            tone="bad" if p.needs_reconnect_count else "warn" if p.degraded_count else "good",
        ),
    ]
    return (
        '<header class="top"><div class="wrap"><div class="brand">'
        '<div class="logo" aria-hidden="true"><span></span><span></span><span></span>'
        "<span></span></div><div><h1>SendGrid utilization</h1>"
        f'<p class="asof">Data as of {col(None, "", p, "last_successful_sync_at", n_when)}'
        f" · page generated {e(n_when(dashboard.generated_at))}</p></div></div>"
        f'<div class="kpis">{"".join(kpis)}</div></div></header>'
    )


def _kpi(label: str, value: str, sub: str, *, tone: str = "") -> str:
    return (
        f'<div class="kpi {e(tone)}"><div class="kpi-label">{e(label)}</div>'
        f'<div class="kpi-value">{value}</div><div class="kpi-sub">{sub}</div></div>'
    )


def _alerts(tenants: Sequence[Tenant], anchors: Mapping[str, str]) -> str:
    items = []
    for t in tenants:
        if t.connection_status != "needs_reconnect":
            continue
        since = t.health.status_since_at if t.health else None
        items.append(
            f'<div class="alert bad" data-tenant="{e(t.tenant_id)}" data-alert="needs_reconnect">'
            '<div class="alert-icon" aria-hidden="true">!</div><div class="alert-text">'
            f'<strong><a href="#{anchors[t.tenant_id]}">{e(t.name)}</a> needs to be '
            "reconnected.</strong> SendGrid no longer accepts its credential"
            f"{' since ' + e(n_when(since)) if since else ''}; its figures are frozen at the "
            "last successful sync.</div>"
            f'<a class="button" href="{CONNECT_PAGE_PATH}">Reconnect</a></div>'
        )
    return f'<div class="alerts">{"".join(items)}</div>' if items else ""


def _portfolio_table(tenants: Sequence[Tenant], anchors: Mapping[str, str]) -> str:
    if not tenants:
        return ""
    rows = []
    for t in tenants:
        o = t.overview
        tid = t.tenant_id
        status = (o.utilization_status if o else None) or "unknown"
        color = STATUS_COLORS.get(status, STATUS_COLORS["unknown"])
        credits_pct = o.credits_used_pct if o else None
        seats_pct = o.seats_used_pct if o else None
        conn = t.connection_status
        rec_value = o.recommendation if o else None
        rec = rec_value or "unknown"
        change = o.monthly_cost_change_usd if o else None
        seats_over = seats_pct is not None and seats_pct > 100
        credits_meter = meter(
            None if credits_pct is None else float(credits_pct) / 100,
            color,
            over=status == "overage",
        )
        seats_meter = meter(
            None if seats_pct is None else float(seats_pct) / 100,
            "#d64545" if seats_over else "#1a82e2",
            over=seats_over,
        )
        status_text = fig(
            tid,
            "overview.utilization_status",
            status,
            e(STATUS_LABELS.get(status, status)),
            cls=f"status-text st-{status}",
        )
        rec_badge = badge(
            rec.capitalize(),
            RECOMMENDATION_TONES.get(rec, "muted"),
            attrs={"tenant": tid, "metric": "overview.recommendation", "value": rec_value},
        )
        conn_badge = badge(CONNECTION_LABELS.get(conn, conn), CONNECTION_TONES.get(conn, "muted"))
        saving_cls = "good-text" if change is not None and change < 0 else "muted"
        plan = (o.plan_name if o else t.info.plan_name) or "plan unknown"
        rows.append(
            f'<tr data-tenant="{e(tid)}">'
            f'<td><a class="org" href="#{anchors[tid]}">{e(t.name)}</a>'
            f'<div class="muted small">{e(plan)}</div></td>'
            f"<td>{conn_badge}</td>"
            f'<td class="meter-cell">{credits_meter}'
            f"{col(tid, 'overview', o, 'credits_used_pct', n_pct100, cls='num')} {status_text}</td>"
            f'<td class="meter-cell">{seats_meter}'
            f"{col(tid, 'overview', o, 'seats_used_pct', n_pct100, cls='num')}</td>"
            f'<td class="num">{col(tid, "overview", o, "features_used", n_int)}'
            f' <span class="muted">of</span> '
            f"{col(tid, 'overview', o, 'features_licensed', n_int)}</td>"
            f'<td class="num">{col(tid, "overview", o, "requests_30d", n_int)}</td>'
            f'<td class="num">{col(tid, "overview", o, "bounce_rate_30d", n_rate)}</td>'
            f'<td class="num">{col(tid, "overview", o, "spam_report_rate_30d", n_rate)}</td>'
            f'<td class="rec-cell"><div class="nowrap">{rec_badge} <span class="muted small">'
            f"{col(tid, 'overview', o, 'recommended_plan_name', lambda v: v or '')}</span></div>"
            f'<div class="small {saving_cls}">'
            f"{col(tid, 'overview', o, 'monthly_cost_change_usd', n_usd_change)} / month</div>"
            "</td></tr>"
        )
    head = "".join(
        (f'<th class="num">{e(h)}</th>' if num else f"<th>{e(h)}</th>")
        for h, num in (
            ("Organization", False),
            ("Connection", False),
            ("Credits used · current period", False),
            ("Seats used", False),
            ("Features used", True),
            ("Requests · 30 d", True),
            ("Bounce · 30 d", True),
            ("Spam · 30 d", True),
            ("Recommendation", False),
        )
    )
    return card(
        "Portfolio",
        f'<div class="table-wrap"><table class="portfolio"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>",
        sub="Every SendGrid organization connected to Airflow (rpt_sendgrid_utilization_overview).",
        section="portfolio",
    )


# --- tenant section ---------------------------------------------------------------------------


def _tenant_section(t: Tenant, anchor: str) -> str:
    info = t.info
    conn = t.connection_status
    meta = [
        ("Tenant", info.tenant_id),
        ("Region", info.region),
        ("Account", info.account_type),
        ("Plan", info.plan_name),
        ("Last sync", n_when(info.last_successful_sync_at)),
    ]
    meta_html = "".join(
        f'<span class="meta"><span class="muted">{e(k)}</span> {e(v) if v else "—"}</span>'
        for k, v in meta
    )
    reputation = (
        fig(
            t.tenant_id,
            "reputation",
            info.reputation,
            f"Reputation <b>{e(n_int(info.reputation))}</b>",
            cls="meta",
        )
        if info.reputation is not None
        else ""
    )
    rec = t.recommendation
    header = (
        f'<div class="tenant-head"><div><h2>{e(t.name)}</h2>'
        f'<div class="metas">{meta_html}{reputation}'
        f'<span class="meta muted" title="How the plan was inferred">'
        f"{e(info.plan_inference_basis or '')}</span></div></div>"
        f'<div class="tenant-badges">'
        + badge(
            CONNECTION_LABELS.get(conn, conn),
            CONNECTION_TONES.get(conn, "muted"),
            attrs={"tenant": t.tenant_id, "metric": "connection_status", "value": conn},
        )
        + (
            badge(
                rec.recommendation_text[:1].upper() + rec.recommendation_text[1:],
                RECOMMENDATION_TONES.get(rec.recommendation, "muted"),
            )
            if rec
            else ""
        )
        + "</div></div>"
    )
    rows = [
        _reconnect_banner(t),
        f'<div class="grid g-2-1">{_credits_card(t)}{_current_period_card(t)}</div>',
        f'<div class="grid g-1-1">{_volume_card(t)}{_seats_card(t)}</div>',
        f'<div class="grid g-1-1">{_delivery_card(t)}{_bounce_spam_card(t)}</div>',
        _features_card(t),
        f'<div class="grid g-1-1-1">{_recommendation_card(t)}{_api_keys_card(t)}'
        f"{_health_card(t)}</div>",
        f'<div class="grid g-1-1">{_suppressions_card(t)}{_subusers_card(t)}</div>',
    ]
    return (
        f'<section class="tenant {e(conn)}" id="{anchor}" data-tenant="{e(t.tenant_id)}">'
        f"{header}{''.join(rows)}</section>"
    )


def _reconnect_banner(t: Tenant) -> str:
    h = t.health
    if t.connection_status != "needs_reconnect":
        if t.connection_status == "degraded" and h:
            return (
                f'<div class="alert warn" data-tenant="{e(t.tenant_id)}" data-alert="degraded">'
                '<div class="alert-icon" aria-hidden="true">!</div><div class="alert-text">'
                "<strong>Connection degraded.</strong> Some streams could not be read: "
                f"{chips(h.streams_in_error or h.streams_missing_scopes, 'warn')}</div></div>"
            )
        return ""
    since = h.status_since_at if h else None
    error = h.last_error if h else None
    age = h.data_age_hours if h else None
    return (
        f'<div class="alert bad big" data-tenant="{e(t.tenant_id)}" data-alert="needs_reconnect">'
        '<div class="alert-icon" aria-hidden="true">!</div><div class="alert-text">'
        "<strong>Needs reconnect</strong> — SendGrid rejected this organization's credential"
        + (" since " + col(t.tenant_id, "health", h, "status_since_at", n_when) if since else "")
        + "."
        f" The figures below are "
        f"{fig(t.tenant_id, 'health.data_age_hours', age, e(n_hours(age)))} old."
        + (f'<code class="error">{e(error)}</code>' if error else "")
        + f'</div><a class="button" href="{CONNECT_PAGE_PATH}">Reconnect SendGrid</a></div>'
    )


def _credits_card(t: Tenant) -> str:
    tid = t.tenant_id
    monthly = all((p.reset_frequency or "monthly") == "monthly" for p in t.periods)
    bars = []
    for p in t.periods:
        label = month_label(p.period_start_date) if monthly else day_label(p.period_start_date)
        status = p.utilization_status
        tip = (
            f"{p.period_start_date} → {p.period_end_date} · used {n_int(p.credits_used)} of "
            f"{n_int(p.credits_total)} ({n_pct100(p.credits_used_pct)})"
            + (
                f" · projected {n_int(p.projected_credits_used)} ({n_pct100(p.projected_used_pct)})"
                if p.is_current_period
                else ""
            )
            + f" · {STATUS_LABELS.get(status, status)}"
        )
        bars.append(
            PeriodBar(
                label=label,
                used=p.credits_used,
                total=p.credits_total,
                projected=p.projected_credits_used if p.is_current_period else None,
                color=STATUS_COLORS.get(status, STATUS_COLORS["unknown"]),
                status=status,
                tooltip=tip,
            )
        )
    present = [s for s in STATUS_COLORS if any(p.utilization_status == s for p in t.periods)]
    chart = period_chart(
        f"Credits used vs plan per period — {t.name}",
        bars,
        frame=WIDE,
        attrs={"tenant": tid, "metric": "credits_by_period"},
        legend=[(STATUS_LABELS[s].lower(), STATUS_COLORS[s]) for s in present],
    )
    freq = t.periods[-1].reset_frequency if t.periods else None
    return card(
        "Credits used vs plan",
        chart,
        sub=f"Last {len(t.periods)} credit period(s), reset {e(freq or 'unknown')}; bar colour is"
        " the period's status, the dashed outline the run-rate projection to the period end.",
        section="credits",
    )


def _current_period_card(t: Tenant) -> str:
    tid = t.tenant_id
    p = t.current_period
    if p is None:
        return card(
            "Current period",
            gauge(
                "Credits used, current period",
                None,
                caption="no current period",
                attrs={"tenant": tid, "metric": "credits_used_pct", "value": None},
            ),
            section="current-period",
        )
    status = p.utilization_status
    color = STATUS_COLORS.get(status, STATUS_COLORS["unknown"])
    ratio = None if p.credits_used_pct is None else float(p.credits_used_pct) / 100
    rows = [
        ("Used", "credits_used", p.credits_used, n_int(p.credits_used)),
        ("Plan credits", "credits_total", p.credits_total, n_int(p.credits_total)),
        ("Remaining", "credits_remain", p.credits_remain, n_int(p.credits_remain)),
        ("Overage", "credits_overage", p.credits_overage, n_int(p.credits_overage)),
        (
            "Projected at end",
            "projected_used_pct",
            p.projected_used_pct,
            n_pct100(p.projected_used_pct),
        ),
        (
            "Runs out in",
            "days_until_exhausted",
            p.days_until_exhausted,
            "—" if p.days_until_exhausted is None else f"{p.days_until_exhausted} days",
        ),
        (
            "Run rate / day",
            "daily_run_rate",
            p.daily_run_rate,
            "—" if p.daily_run_rate is None else f"{float(p.daily_run_rate):,.0f}",
        ),
        ("Emails requested", "emails_requested", p.emails_requested, n_int(p.emails_requested)),
    ]
    dl = "".join(
        f"<dt>{e(label)}</dt><dd>{fig(tid, 'period.' + metric, value, e(text))}</dd>"
        for label, metric, value, text in rows
        if not (metric == "credits_overage" and not value)
    )
    body = (
        '<div class="gauge-wrap">'
        + gauge(
            "Credits used, current period",
            ratio,
            caption=f"day {p.days_elapsed} of {p.period_days}",
            attrs={"tenant": tid, "metric": "credits_used_pct", "value": p.credits_used_pct},
            color=color,
        )
        + "<div>"
        + fig(
            tid,
            "period.utilization_status",
            status,
            e(STATUS_LABELS.get(status, status)),
            cls=f"badge solid bg-{status}",
        )
        + "</div>"
        + f'</div><dl class="facts">{dl}</dl>'
    )
    return card(
        "Current period",
        body,
        sub=f"{e(p.period_start_date.isoformat())} → {e(p.period_end_date.isoformat())}"
        f" (observed {e(n_when(p.observed_at))})",
        section="current-period",
        cls=f"status-{status}",
    )


def _volume_card(t: Tenant) -> str:
    tid = t.tenant_id
    months = t.volume
    labels = [month_label(m.month) for m in months]
    last = months[-1] if months else None
    partial = bool(
        last
        and last.last_activity_date.month == last.month.month
        and (last.last_activity_date + dt.timedelta(days=1)).month == last.month.month
    )
    if partial and labels:
        labels[-1] += "*"
    chart = bar_chart(
        f"Monthly emails requested — {t.name}",
        labels,
        [
            Series(
                "Parent account",
                [m.parent_requests for m in months],
                key="parent_requests",
                color="#1a82e2",
            ),
            Series(
                "Subusers",
                [m.subuser_requests for m in months],
                key="subuser_requests",
                color="#7fb8f0",
            ),
        ],
        frame=HALF,
        attrs={"tenant": tid, "metric": "monthly_requests"},
        point_labels=[m.month.isoformat() for m in months],
        empty_text="No email activity yet",
    )
    o = t.overview
    sub = "Emails requested per calendar month, parent and subusers" + (
        f" (* to {e(day_label(last.last_activity_date))}, month to date)."
        if partial and last
        else "."
    )
    peak = t.recommendation.peak_monthly_requests if t.recommendation else None
    head = (
        '<div class="seat-head"><div class="big-num">'
        + fig(
            tid,
            "overview.requests_30d.card",
            o.requests_30d if o else None,
            n_int(o.requests_30d if o else None),
        )
        + '<span class="of"> emails in the last 30 days</span></div>'
        + '<div class="seat-facts">Peak month '
        + fig(tid, "rec.peak_monthly_requests.volume", peak, n_int(peak), tag="b")
        + " · p95 month "
        + fig(
            tid,
            "rec.p95_monthly_requests.volume",
            t.recommendation.p95_monthly_requests if t.recommendation else None,
            n_int(t.recommendation.p95_monthly_requests if t.recommendation else None),
            tag="b",
        )
        + " (complete months, as the plan recommendation sees them)</div></div>"
    )
    return card("Monthly volume", head + chart, sub=sub, section="volume")


def _delivery_card(t: Tenant) -> str:
    tid = t.tenant_id
    d = t.deliverability
    days = d.days if d else []
    values = [r.delivery_rate for r in days if r.delivery_rate is not None]
    low = min((float(v) for v in values), default=1.0)
    y_min = max(0.0, (int(low * 20) - 1) / 20) if values else 0.0
    chart = line_chart(
        f"Daily delivery rate — {t.name}",
        [day_label(r.activity_date) for r in days],
        [
            Series(
                "Delivery rate",
                [r.delivery_rate for r in days],
                key="delivery_rate",
                color="#22a06b",
            )
        ],
        fmt=fmt_pct,
        y_min=y_min,
        y_max=1.0 - y_min if values else None,
        frame=HALF,
        attrs={"tenant": tid, "metric": "delivery_rate"},
        point_labels=[r.activity_date.isoformat() for r in days],
        empty_text="No delivery rate: nothing requested",
    )
    return card("Delivery rate", chart, sub=_sender_note(t), section="delivery")


def _bounce_spam_card(t: Tenant) -> str:
    tid = t.tenant_id
    d = t.deliverability
    days = d.days if d else []
    chart = line_chart(
        f"Daily bounce and spam report rates — {t.name}",
        [day_label(r.activity_date) for r in days],
        [
            Series(
                "Bounce rate", [r.bounce_rate for r in days], key="bounce_rate", color="#eb5757"
            ),
            Series(
                "Spam report rate",
                [r.spam_report_rate for r in days],
                key="spam_report_rate",
                color="#9b51e0",
            ),
        ],
        fmt=fmt_pct,
        frame=HALF,
        attrs={"tenant": tid, "metric": "bounce_spam_rates"},
        point_labels=[r.activity_date.isoformat() for r in days],
        empty_text="No rates: nothing requested or delivered",
    )
    o = t.overview
    sub = (
        "Last 30 days, all senders: bounce "
        + fig(
            tid,
            "overview.bounce_rate_30d.card",
            o.bounce_rate_30d if o else None,
            e(n_rate(o.bounce_rate_30d if o else None)),
            tag="b",
        )
        + " · spam reports "
        + fig(
            tid,
            "overview.spam_report_rate_30d.card",
            o.spam_report_rate_30d if o else None,
            e(n_rate(o.spam_report_rate_30d if o else None)),
            tag="b",
        )
        + ". Daily: "
        + _sender_note(t, short=True)
    )
    return card("Bounces and spam reports", chart, sub=sub, section="bounce-spam")


def _sender_note(t: Tenant, *, short: bool = False) -> str:
    d = t.deliverability
    if d is None:
        return "No email activity in the marts yet."
    who = (
        "the parent account"
        if d.sender_type == "parent"
        else f"subuser <b>{e(d.subuser_username)}</b>"
    )
    if short:
        return f"{who}, as SendGrid reports it per sender."
    others = d.sender_count - 1
    more = f" (busiest of {d.sender_count} senders)" if others else ""
    return f"Daily, last {len(d.days)} days, {who}{more}; gaps are days with nothing requested."


def _seats_card(t: Tenant) -> str:
    tid = t.tenant_id
    seats = t.seats
    latest = t.latest_seats
    peak = max((s.seats_used for s in seats), default=0)
    limit = latest.seat_limit if latest else None
    draw_limit = limit is not None and limit <= max(3 * peak, 3)
    chart = bar_chart(
        f"Seats by role — {t.name}",
        [day_label(s.seat_date) for s in seats],
        [
            Series("Admins", [s.admin_count for s in seats], key="admin_count", color="#1a82e2"),
            Series(
                "Teammates",
                [s.teammate_count for s in seats],
                key="teammate_count",
                color="#9b51e0",
            ),
        ],
        limit=limit if draw_limit else None,
        limit_label="seat limit",
        frame=HALF,
        attrs={"tenant": tid, "metric": "seats_by_role"},
        point_labels=[s.seat_date.isoformat() for s in seats],
        empty_text="No teammates seen yet",
        max_labels=7,
    )
    if latest is None:
        return card("Seats", chart, sub="No seat data yet.", section="seats")
    pct = latest.seats_used_pct
    over = pct is not None and pct > 100
    bar_color = "#d64545" if over else "#1a82e2"
    head = (
        '<div class="seat-head"><div class="big-num">'
        f"{fig(tid, 'seats.seats_used', latest.seats_used, n_int(latest.seats_used))}"
        '<span class="of"> / '
        f"{fig(tid, 'seats.seat_limit', limit, n_int(limit))} seats</span></div>"
        f"{meter(None if pct is None else float(pct) / 100, bar_color, over=over)}"
        f'<div class="seat-facts">{col(tid, "seats", latest, "seats_used_pct", n_pct100, tag="b")}'
        " of the plan's limit · "
        f"{fig(tid, 'seats.owner_count', latest.owner_count, n_int(latest.owner_count))} owner "
        "(not a seat) · "
        f"{col(tid, 'seats', latest, 'pending_invites_valid', n_int)}"
        " pending invite(s), "
        f"{col(tid, 'seats', latest, 'pending_invites_expired', n_int)}"
        " expired</div></div>"
    )
    note = "" if draw_limit or limit is None else f" The limit ({limit:,}) is off this scale."
    return card(
        "Seats by role vs limit",
        head + chart,
        sub=f"Admins and teammates, weekly to {e(latest.seat_date.isoformat())}.{e(note)}",
        section="seats",
    )


def _features_card(t: Tenant) -> str:
    tid = t.tenant_id
    tiles = [_feature_tile(tid, f) for f in t.features]
    counts = {state: sum(1 for f in t.features if f.state == state) for state in FEATURE_STATES}
    o = t.overview
    summary = (
        '<div class="feature-summary">'
        + fig(
            tid,
            "overview.features_used",
            o.features_used if o else None,
            f"<b>{n_int(o.features_used if o else None)}</b> used",
        )
        + " of "
        + fig(
            tid,
            "overview.features_licensed",
            o.features_licensed if o else None,
            f"<b>{n_int(o.features_licensed if o else None)}</b> licensed",
        )
        + "".join(
            f'<span class="legend-dot {FEATURE_STATES[s][1]}"></span>'
            f'<span data-tenant="{e(tid)}" data-metric="feature_state_count" '
            f'data-state="{s}">{counts[s]} {e(FEATURE_STATES[s][0].lower())}</span>'
            for s in FEATURE_STATES
        )
        + "</div>"
    )
    body = summary + (
        f'<div class="features">{"".join(tiles)}</div>'
        if tiles
        else '<p class="muted">No feature evidence yet.</p>'
    )
    return card(
        "Feature adoption",
        body,
        sub="Each feature of the catalog: licensed by the plan, and used. Amber tiles are paid "
        "for but unused.",
        section="features",
    )


def _feature_tile(tid: str, f: Feature) -> str:
    label, cls = FEATURE_STATES[f.state]
    usage = f"{f.usage_count:,}"
    if f.usage_limit is not None:
        usage += f" / {f.usage_limit:,}"
    last = f" · last {f.last_activity_at:%Y-%m-%d}" if f.last_activity_at else ""
    title = f"{f.usage_measure} (evidence: {f.evidence_stream}, {f.evidence_stream_status})"
    attrs = {
        "tenant": tid,
        "metric": "feature",
        "feature": f.feature_code,
        "state": f.state,
        "licensed": f.is_licensed,
        "used": f.is_used,
        "value": f.usage_count,
        "limit": f.usage_limit,
    }
    return (
        f'<div class="feature {cls}" title="{e(title)}"{data_attrs(attrs)}>'
        f'<div class="feature-name">{e(f.feature_name)}</div>'
        f'<div class="feature-usage">{e(usage)}</div>'
        f'<div class="feature-state">{e(label)}{e(last)}</div></div>'
    )


def _api_keys_card(t: Tenant) -> str:
    tid = t.tenant_id
    k = t.api_keys
    tone = "bad" if k.full_access_keys else "good"
    stats = (
        '<div class="stat-row">'
        + _stat(tid, "api_keys.active_keys", k.active_keys, "active keys")
        + _stat(tid, "api_keys.full_access_keys", k.full_access_keys, "full access", tone=tone)
        + _stat(tid, "api_keys.deleted_keys", k.deleted_keys, "deleted")
        + _stat(tid, "api_keys.total_keys", k.total_keys, "seen in total")
        + "</div>"
    )
    unknown = (
        f'<p class="small muted">{col(tid, "api_keys", k, "unknown_scope_keys", n_int)}'
        " active key(s) with unknown scopes.</p>"
        if k.unknown_scope_keys
        else ""
    )
    lists = _key_list("Full-access keys", k.full_access, deleted=False) + _key_list(
        "Recently deleted", k.recently_deleted, deleted=True
    )
    return card(
        "API-key risk",
        stats + unknown + lists,
        sub="Keys that can create keys, send mail and read the account are full access; "
        "restrict them.",
        section="api-keys",
    )


def _stat(tid: str, metric: str, value: int | None, label: str, *, tone: str = "") -> str:
    return (
        f'<div class="stat {e(tone)}">{fig(tid, metric, value, n_int(value), cls="stat-num")}'
        f'<div class="stat-label">{e(label)}</div></div>'
    )


def _key_list(title: str, keys: Sequence[ApiKey], *, deleted: bool) -> str:
    if not keys:
        return ""
    items = "".join(
        f"<li><span>{e(k.api_key_name or k.api_key_id)}</span>"
        f'<span class="muted small">{e(k.subuser_username or "parent")} · '
        f"{e(_key_note(k, deleted=deleted))}"
        "</span></li>"
        for k in keys
    )
    return f'<h4>{e(title)}</h4><ul class="keys">{items}</ul>'


def _key_note(key: ApiKey, *, deleted: bool) -> str:
    if deleted and key.deleted_at:
        return f"deleted {key.deleted_at:%Y-%m-%d}"
    return "scopes unknown" if key.scope_count is None else f"{key.scope_count} scopes"


def _health_card(t: Tenant) -> str:
    tid = t.tenant_id
    h = t.health
    if h is None:
        return card(
            "Connection health",
            '<p class="muted">No health record yet.</p>',
            section="health",
        )
    status = h.connection_status
    rows = [
        (
            "Status since",
            fig(
                tid, "health.status_since_at.card", h.status_since_at, e(n_when(h.status_since_at))
            ),
        ),
        (
            "Last success",
            fig(tid, "health.last_success_at", h.last_success_at, e(n_when(h.last_success_at))),
        ),
        (
            "Data age",
            fig(tid, "health.data_age_hours.card", h.data_age_hours, e(n_hours(h.data_age_hours))),
        ),
        (
            "Streams read",
            fig(tid, "health.ok_stream_count", h.ok_stream_count, n_int(h.ok_stream_count)),
        ),
    ]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    reconnect = (
        f'<a class="button block" href="{CONNECT_PAGE_PATH}">Reconnect on the connections page</a>'
        if status == "needs_reconnect"
        else ""
    )
    body = (
        '<div class="health-status">'
        + badge(
            CONNECTION_LABELS.get(status, status),
            CONNECTION_TONES.get(status, "muted") + " large",
            attrs={"tenant": tid, "metric": "health.connection_status", "value": status},
        )
        + f'</div>{reconnect}<dl class="facts">{dl}</dl>'
        f"<h4>Missing scopes · "
        f"{col(tid, 'health', h, 'missing_scope_stream_count', n_int)}"
        " stream(s)</h4>"
        f'<div class="chips" data-tenant="{e(tid)}" data-metric="health.streams_missing_scopes" '
        f'data-value="{e(h.streams_missing_scopes)}">'
        f"{chips(h.streams_missing_scopes, 'warn')}</div>"
        + (
            f'<div class="small muted">scopes: {e(h.missing_scopes)}</div>'
            if h.missing_scopes
            else ""
        )
        + "<h4>Not in the plan · "
        f"{col(tid, 'health', h, 'not_licensed_stream_count', n_int)}"
        " stream(s)</h4>"
        f'<div class="chips" data-tenant="{e(tid)}" data-metric="health.streams_not_licensed" '
        f'data-value="{e(h.streams_not_licensed)}">{chips(h.streams_not_licensed)}</div>'
        + (
            f'<h4>In error</h4><div class="chips">{chips(h.streams_in_error, "bad")}</div>'
            if h.streams_in_error
            else ""
        )
        + (
            f'<h4>Last error</h4><code class="error">{e(h.last_error)}</code>'
            if h.last_error
            else ""
        )
    )
    return card("Connection health", body, section="health", cls=f"conn-{status}")


def _recommendation_card(t: Tenant) -> str:
    tid = t.tenant_id
    r = t.recommendation
    if r is None:
        return card(
            "Plan recommendation",
            '<p class="muted">No recommendation yet.</p>',
            section="recommendation",
        )
    change = r.monthly_cost_change_usd
    if change is None:
        saving_text, tone = "Cost change unknown (custom price or no data)", "muted"
    elif change < 0:
        saving_text, tone = f"Saves {n_usd(-change)} / month", "good"
    elif change > 0:
        saving_text, tone = f"Costs {n_usd(change)} more / month", "warn"
    else:
        saving_text, tone = "Right-sized: no change", "info"
    current_price = n_usd(r.current_monthly_price_usd) + (
        " (contract)" if r.is_contract_price else ""
    )
    facts = [
        (
            "Peak month",
            "rec.peak_monthly_requests",
            r.peak_monthly_requests,
            n_int(r.peak_monthly_requests),
        ),
        (
            "p95 month",
            "rec.p95_monthly_requests",
            r.p95_monthly_requests,
            n_int(r.p95_monthly_requests),
        ),
        (
            "Needed with headroom",
            "rec.required_monthly_emails",
            r.required_monthly_emails,
            n_int(r.required_monthly_emails),
        ),
        ("Months observed", "rec.months_observed", r.months_observed, n_int(r.months_observed)),
        (
            "Seats · subusers · IPs",
            "rec.seats_used",
            r.seats_used,
            f"{r.seats_used:,} · {r.enabled_subusers:,} · {r.dedicated_ips:,}",
        ),
    ]
    dl = "".join(
        f"<dt>{e(label)}</dt><dd>{fig(tid, metric, value, e(text))}</dd>"
        for label, metric, value, text in facts
    )
    body = (
        '<div class="plans">'
        f'<div class="plan"><div class="muted small">Current</div>'
        f'<div class="plan-name">{e(t.info.plan_name or r.current_plan_code or "unknown")}</div>'
        + fig(
            tid,
            "rec.current_monthly_price_usd",
            r.current_monthly_price_usd,
            e(current_price),
            cls="small",
        )
        + "</div>"
        '<div class="arrow" aria-hidden="true">→</div>'
        f'<div class="plan rec"><div class="muted small">Recommended</div>'
        f"{col(tid, 'rec', r, 'recommended_plan_name', lambda v: v or '—', cls='plan-name')}"
        f"{col(tid, 'rec', r, 'recommended_monthly_price_usd', n_usd, cls='small')}"
        "</div></div>"
        f'<div class="savings {tone}">'
        f"{fig(tid, 'rec.monthly_cost_change_usd', change, e(saving_text))}"
        f' <span class="small">{col(tid, "rec", r, "recommendation", str)}</span>'
        "</div>"
        f'<dl class="facts">{dl}</dl>'
    )
    return card(
        "Plan recommendation",
        body,
        sub="Cheapest catalog plan covering the peak and p95 monthly volume with headroom.",
        section="recommendation",
    )


def _suppressions_card(t: Tenant) -> str:
    tid = t.tenant_id
    months = sorted({s.suppression_month for s in t.suppressions})
    by = {(s.suppression_month, s.suppression_kind): s for s in t.suppressions}
    series = [
        Series(
            name,
            [by[(m, kind)].new_suppressions if (m, kind) in by else None for m in months],
            key=kind,
            color=color,
        )
        for kind, name, color in SUPPRESSION_KINDS
    ]
    chart = bar_chart(
        f"New suppressions per month — {t.name}",
        [month_label(m) for m in months],
        series,
        frame=HALF,
        attrs={"tenant": tid, "metric": "new_suppressions"},
        point_labels=[m.isoformat() for m in months],
        empty_text="No suppressions",
    )
    latest = months[-1] if months else None
    totals = "".join(
        f'<span class="meta"><span class="swatch" style="background:{color}"></span>{e(name)} '
        + fig(
            tid,
            f"suppressions.cumulative.{kind}",
            by[(latest, kind)].cumulative_suppressions,
            f"<b>{n_int(by[(latest, kind)].cumulative_suppressions)}</b>",
        )
        + "</span>"
        for kind, name, color in SUPPRESSION_KINDS
        if latest and (latest, kind) in by
    )
    return card(
        "Suppressions",
        chart + (f'<div class="metas">{totals}</div>' if totals else ""),
        sub="New entries per month by kind; totals to date below.",
        section="suppressions",
    )


def _subusers_card(t: Tenant) -> str:
    tid = t.tenant_id
    s = t.latest_seats
    info = t.info
    if s is None:
        body = '<p class="muted">No subuser data yet.</p>'
    else:
        active_ratio = s.subusers_active_30d / s.subusers_total if s.subusers_total else None
        body = (
            '<div class="stat-row">'
            + _stat(tid, "seats.subusers_total", s.subusers_total, "subusers")
            + _stat(
                tid,
                "seats.subusers_active_30d",
                s.subusers_active_30d,
                "sent in 30 days",
                tone="good",
            )
            + _stat(
                tid,
                "seats.subusers_inactive_30d",
                s.subusers_inactive_30d,
                "idle 30 days",
                tone="warn" if s.subusers_inactive_30d else "",
            )
            + _stat(tid, "seats.subusers_disabled", s.subusers_disabled, "disabled")
            + "</div>"
            + meter(active_ratio, "#22a06b")
            + '<p class="small muted">Idle subusers still count against the plan\'s included '
            "subusers; disable or delete them.</p>"
        )
    facts = (
        '<dl class="facts">'
        f"<dt>Account credits</dt><dd>{col(tid, 'tenant', info, 'credits_used', n_int)}"
        f" / {fig(tid, 'tenant.credits_total', info.credits_total, n_int(info.credits_total))}</dd>"
        f"<dt>Enabled subusers</dt><dd>{col(tid, 'tenant', info, 'enabled_subuser_count', n_int)}"
        f" of {col(tid, 'tenant', info, 'subuser_count', n_int)}</dd>"
        "</dl>"
    )
    return card(
        "Subusers",
        body + facts,
        sub="Subaccounts of the organization, on the latest day.",
        section="subusers",
    )


def _footer(dashboard: Dashboard) -> str:
    return (
        '<footer class="wrap"><p>Every figure on this page is read from the '
        "<code>sendgrid_marts</code> schema (dbt), as of the last successful sync of each "
        "organization. Hover a chart for exact values. Connections are managed on the "
        f'<a href="{CONNECT_PAGE_PATH}">SendGrid connections</a> page.</p></footer>'
    )


CSS = """
:root{--ink:#1f2a3d;--muted:#6b768a;--line:#e4e8ef;--bg:#f4f6fa;--card:#fff;--blue:#1a82e2;
--good:#22a06b;--warn:#f08c2e;--bad:#d64545;--info:#1a82e2;--navy:#0b2545}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 Inter,"Segoe UI",Roboto,
"Helvetica Neue",Arial,"DejaVu Sans",sans-serif;-webkit-font-smoothing:antialiased}
a{color:var(--blue);text-decoration:none}a:hover{text-decoration:underline}
.wrap{max-width:1280px;margin:0 auto;padding:0 28px}
.muted{color:var(--muted)}.small{font-size:12px}.good-text{color:var(--good);font-weight:600}
code{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,monospace}
header.top{background:linear-gradient(135deg,#0b2545 0%,#13315c 55%,#1a4f8b 100%);color:#fff;
padding:26px 0 30px;margin-bottom:24px}
.brand{display:flex;align-items:center;gap:14px;margin-bottom:22px}
.logo{display:grid;grid-template-columns:14px 14px;gap:3px}
.logo span{width:14px;height:14px;border-radius:3px;background:#7fc4ff}
.logo span:nth-child(2){background:#fff}.logo span:nth-child(3){background:#3aa0f3}
.logo span:nth-child(4){background:#9ad6ff}
h1{margin:0;font-size:24px;font-weight:700;letter-spacing:-.01em}
.asof{margin:2px 0 0;color:#b9cbe3;font-size:13px}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:14px}
.kpi{background:rgba(255,255,255,.08);border:1px solid rgba(255,255,255,.14);border-radius:12px;
padding:14px 16px;min-height:104px}
.kpi-label{font-size:12px;color:#b9cbe3;text-transform:uppercase;letter-spacing:.04em}
.kpi-value{font-size:30px;font-weight:700;margin:4px 0 2px;letter-spacing:-.02em}
.kpi-value .of{font-size:18px;color:#b9cbe3;font-weight:600}
.kpi-sub{font-size:12px;color:#cfdcee}.kpi a{color:#9ad6ff;text-decoration:underline}
.kpi.good{box-shadow:inset 3px 0 0 #4cd39a}.kpi.warn{box-shadow:inset 3px 0 0 #ffb25c}
.kpi.bad{background:rgba(214,69,69,.28);border-color:rgba(255,140,140,.55);
box-shadow:inset 3px 0 0 #ff7b7b}
.alerts{display:flex;flex-direction:column;gap:10px;margin-bottom:18px}
.alert{display:flex;align-items:center;gap:14px;border-radius:12px;padding:12px 16px;
border:1px solid}
.alert.bad{background:#fdecec;border-color:#f3b4b4;color:#7a1f1f}
.alert.warn{background:#fff5e8;border-color:#f6cf9c;color:#7a4a12}
.alert.big{padding:16px 18px;margin-bottom:16px}
.alert-text{flex:1}.alert-text a{color:inherit;text-decoration:underline}
.alert-icon{width:28px;height:28px;border-radius:50%;display:grid;place-items:center;
font-weight:800;color:#fff;background:var(--bad);flex:none}
.alert.warn .alert-icon{background:var(--warn)}
.alert code.error{display:block;margin-top:6px}
.button{display:inline-block;background:var(--bad);color:#fff;font-weight:600;border-radius:8px;
padding:8px 16px;white-space:nowrap}.button:hover{text-decoration:none;filter:brightness(1.08)}
.button.block{display:block;text-align:center;margin:10px 0 4px}
.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:18px 20px;
box-shadow:0 1px 2px rgba(16,24,40,.04);min-width:0}
.card-head{margin-bottom:10px}
.card h3{margin:0;font-size:15px;font-weight:650}
.card h4{margin:14px 0 6px;font-size:12px;color:var(--muted);text-transform:uppercase;
letter-spacing:.04em;font-weight:600}
.card .sub{margin:3px 0 0;color:var(--muted);font-size:12.5px}
.table-wrap{overflow-x:auto}
table.portfolio{width:100%;border-collapse:collapse}
.portfolio th{font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);
font-weight:600;text-align:left;padding:8px 10px;border-bottom:1px solid var(--line)}
.portfolio td{padding:11px 10px;border-bottom:1px solid var(--line);vertical-align:middle}
.portfolio tr:last-child td{border-bottom:0}
.portfolio tbody tr:hover{background:#f8fafd}
.num{text-align:right;font-variant-numeric:tabular-nums}
.org{font-weight:650}
.meter-cell{min-width:170px}.meter-cell .num{display:inline-block;min-width:52px}
.meter{display:inline-block;vertical-align:middle;width:84px;height:8px;border-radius:99px;
background:#edf0f5;overflow:hidden;margin-right:8px}
.meter>span{display:block;height:100%;border-radius:99px}
.meter.over{outline:2px solid rgba(214,69,69,.35)}
.status-text{display:block;font-size:12px;font-weight:600}.org{white-space:nowrap}
.st-overage{color:#d64545}.st-at_risk{color:#d9761a}.st-healthy{color:#22a06b}
.st-under_used{color:#5468c9}.st-unknown{color:#8a93a3}
.bg-overage{background:#d64545}.bg-at_risk{background:#f08c2e}.bg-healthy{background:#22a06b}
.bg-under_used{background:#6b7fd7}.bg-unknown{background:#a0a9b8}
.badge{display:inline-block;font-size:12px;font-weight:600;border-radius:99px;padding:3px 10px;
border:1px solid transparent;white-space:nowrap}
.badge.good{background:#e6f6ee;color:#13794b;border-color:#b8e5cf}
.badge.warn{background:#fff2e3;color:#9a5410;border-color:#f6d2a6}
.badge.bad{background:#fdeaea;color:#b02a2a;border-color:#f3b9b9}
.badge.info{background:#e8f2fd;color:#155fa8;border-color:#bcd8f6}
.badge.muted{background:#f0f2f6;color:#5b6577;border-color:#dde1e8}
.badge.large{font-size:14px;padding:6px 14px}
.badge.solid{color:#fff}
.tenant{margin-top:44px;padding-top:4px}
.tenant-head{display:flex;justify-content:space-between;align-items:center;gap:16px;
margin-bottom:16px;background:#fff;border:1px solid var(--line);border-left:6px solid #22a06b;
border-radius:14px;padding:16px 20px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
.tenant.degraded .tenant-head{border-left-color:var(--warn)}
.tenant.never_connected .tenant-head{border-left-color:#a0a9b8}
.tenant h2{margin:0 0 4px;font-size:21px;letter-spacing:-.01em}
.tenant-badges{display:flex;gap:8px;flex-wrap:wrap;justify-content:flex-end}
.tenant.needs_reconnect .tenant-head{border-left-color:var(--bad)}
.metas{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12.5px}
.meta{display:inline-flex;align-items:center;gap:5px}
.swatch{width:10px;height:10px;border-radius:3px;display:inline-block}
.grid{display:grid;gap:16px;margin-bottom:16px}
.g-2-1{grid-template-columns:2fr 1fr}.g-1-1{grid-template-columns:1fr 1fr}
.g-1-1-1{grid-template-columns:1fr 1fr 1fr}
section.tenant>.card{margin-bottom:16px}
svg.chart{display:block;width:100%;height:auto;overflow:visible;font-family:inherit}
svg.chart .pt{opacity:0;transition:opacity .1s}svg.chart .pt:hover{opacity:1}
svg.chart rect.bar:hover,svg.chart rect.projection:hover{filter:brightness(1.1)}
.gauge-wrap{display:flex;flex-direction:column;align-items:center;gap:4px;margin:4px 0 10px}
.gauge-wrap svg.chart{max-width:230px}
dl.facts{display:grid;grid-template-columns:auto 1fr;gap:6px 14px;margin:8px 0 0;font-size:13px}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;text-align:right;font-weight:600;
font-variant-numeric:tabular-nums}
.seat-head{margin-bottom:8px}.seat-head .meter{width:100%;height:10px;margin:6px 0}
.big-num{font-size:26px;font-weight:700;letter-spacing:-.02em}
.big-num .of{font-size:14px;color:var(--muted);font-weight:500}
.seat-facts{font-size:12.5px;color:var(--muted)}
.feature-summary{display:flex;align-items:center;flex-wrap:wrap;gap:6px 10px;margin-bottom:12px;
font-size:13px}
.feature-summary>span:nth-child(3){margin-left:10px}
.legend-dot{width:11px;height:11px;border-radius:3px;display:inline-block;margin-left:8px;
border:1px solid}.nowrap{white-space:nowrap}.rec-cell{min-width:180px}
.features{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.feature{border-radius:10px;padding:10px 12px;border:1px solid var(--line);min-height:76px}
.feature-name{font-weight:600;font-size:13px}
.feature-usage{font-size:20px;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums}
.feature-state{font-size:11.5px}
.feature.used,.legend-dot.used{background:#e9f7f0;border-color:#b7e3cd}
.feature.used .feature-state{color:#13794b}
.feature.unused,.legend-dot.unused{background:#fff4e5;border-color:#f5c98f}
.feature.unused .feature-state{color:#9a5410;font-weight:600}
.feature.off,.legend-dot.off{background:#f3f4f7;border-color:#e1e4ea;color:#8a93a3}
.feature.unknown,.legend-dot.unknown{background:#fff;border:1px dashed #c3cad6;color:#6b768a}
.stat-row{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin-bottom:8px}
.stat{background:#f6f8fb;border-radius:10px;padding:10px;text-align:center}
.stat-num{display:block;font-size:24px;font-weight:700;font-variant-numeric:tabular-nums}
.stat-label{font-size:11.5px;color:var(--muted)}
.stat.bad{background:#fdecec}.stat.bad .stat-num{color:var(--bad)}
.stat.good .stat-num{color:var(--good)}.stat.warn .stat-num{color:var(--warn)}
ul.keys{list-style:none;margin:0;padding:0}
ul.keys li{display:flex;justify-content:space-between;gap:8px;padding:5px 0;
border-bottom:1px dashed var(--line);font-size:13px}
.chips{display:flex;flex-wrap:wrap;gap:5px}
.chip{font:11.5px/1.3 ui-monospace,"DejaVu Sans Mono",monospace;background:#f0f2f6;
border-radius:6px;padding:3px 7px;color:#3d4759}
.chip.warn{background:#fff2e3;color:#8a4a0c}.chip.bad{background:#fdeaea;color:#a02626}
code.error{display:block;background:#fbf3f3;border:1px solid #f1d3d3;color:#8b2525;
border-radius:8px;padding:8px 10px;white-space:pre-wrap;word-break:break-word}
.health-status{margin:2px 0 8px}
.conn-needs_reconnect{border-color:#f3b4b4;box-shadow:0 0 0 3px rgba(214,69,69,.08)}
.plans{display:flex;align-items:center;gap:10px;margin:4px 0 12px}
.plan{flex:1;background:#f6f8fb;border-radius:10px;padding:10px 12px}
.plan.rec{background:#eef6ff}
.plan-name{display:block;font-size:17px;font-weight:700}
.arrow{font-size:20px;color:var(--muted)}
.savings{border-radius:10px;padding:10px 12px;font-size:17px;font-weight:700}
.savings.good{background:#e6f6ee;color:#13794b}.savings.warn{background:#fff2e3;color:#9a5410}
.savings.info{background:#e8f2fd;color:#155fa8}.savings.muted{background:#f0f2f6;color:#5b6577}
.savings .small{font-weight:500;opacity:.8}
.empty-state{text-align:center;padding:40px}
footer{color:var(--muted);font-size:12.5px;padding-top:10px;padding-bottom:40px}
@media (max-width:1100px){.kpis{grid-template-columns:repeat(3,1fr)}
.g-2-1,.g-1-1-1{grid-template-columns:1fr 1fr}}
@media (max-width:760px){.kpis{grid-template-columns:1fr 1fr}
.g-2-1,.g-1-1,.g-1-1-1{grid-template-columns:1fr}}
@media print{header.top{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
