"""The seven charts of a tenant's section, drawn from its reporting rows (no figure computed).

Each function takes a :class:`~sendgrid_dashboard.queries.TenantView` and returns the chart's
SVG; the values drawn are the rows' columns as dbt computed them.
"""

from __future__ import annotations

import datetime as dt

from sendgrid_dashboard.charts import (
    PeriodBar,
    Series,
    bar_chart,
    fmt_pct,
    gauge,
    line_chart,
    period_chart,
)
from sendgrid_dashboard.formats import n_int, n_pct100
from sendgrid_dashboard.queries import Row, TenantView
from sendgrid_dashboard.svg import scale

STATUS_COLORS = {
    "overage": "#d64545",
    "at_risk": "#f08c2e",
    "healthy": "#22a06b",
    "under_used": "#6b7fd7",
    "insufficient_data": "#8fa3bf",
    "unknown": "#a0a9b8",
}
STATUS_LABELS = {
    "overage": "Overage",
    "at_risk": "At risk",
    "healthy": "Healthy",
    "under_used": "Under-used",
    "insufficient_data": "Too early to tell",
    "unknown": "Unknown",
}
#: An empty chart's caption when its counts are null (unknown), after ``_no_volume``'s.
SEATS_UNKNOWN = "Seats unknown: teammates not readable"
SUPPRESSIONS_UNKNOWN = "Suppressions unknown: lists not readable"
#: No row at all: the model has rows from a tenant's first entry on, and none when the lists
#: were never read, so no row is not "none".
NO_SUPPRESSION_ROWS = "No entry read (none, or lists unreadable)"
#: The legend and tooltip note of a day whose figures were read only in part.
PARTIAL_DAY = "day read in part"
SUPPRESSION_KINDS = (
    ("bounce", "Bounces", "#eb5757"),
    ("block", "Blocks", "#f2994a"),
    ("spam_report", "Spam reports", "#9b51e0"),
    ("invalid_email", "Invalid", "#2d9cdb"),
    ("unsubscribe", "Unsubscribes", "#8a94a6"),
)


def day_label(day: dt.date) -> str:
    """``Nov 3``."""
    return f"{day:%b} {day.day}"


def month_label(day: dt.date) -> str:
    """``Nov ’26``."""
    return f"{day:%b} ’{day:%y}"


def _column_series(name: str, rows: list[Row], column: str, color: str) -> Series:
    """The series of one column of ``rows``, keyed by the column's name."""
    return Series(name, [r[column] for r in rows], key=column, color=color)


def credits_chart(t: TenantView) -> str:
    """Credits used per period against the plan, the current one with its projection."""
    monthly = all((p["reset_frequency"] or "monthly") == "monthly" for p in t.periods)
    bars = []
    for p in t.periods:
        start = p["period_start_date"]
        status = p["utilization_status"]
        tip = (
            f"{start} → {p['period_end_date']} · used {n_int(p['credits_used'])} of "
            f"{n_int(p['credits_total'])} ({n_pct100(p['credits_used_pct'])})"
            + (
                f" · projected {n_int(p['projected_credits_used'])}"
                f" ({n_pct100(p['projected_used_pct'])}, {p['projection_note']})"
                if p["is_current_period"]
                else ""
            )
            + f" · {STATUS_LABELS.get(status, status)}"
        )
        bars.append(
            PeriodBar(
                label=month_label(start) if monthly else day_label(start),
                used=p["credits_used"],
                total=p["credits_total"],
                projected=p["projected_credits_used"] if p["is_current_period"] else None,
                color=STATUS_COLORS.get(status, STATUS_COLORS["unknown"]),
                status=status,
                tooltip=tip,
            )
        )
    present = [s for s in STATUS_COLORS if any(p["utilization_status"] == s for p in t.periods)]
    return period_chart(
        f"Credits used vs plan per period — {t.name}",
        bars,
        attrs={"tenant": t.tenant_id, "metric": "credits_by_period"},
        statuses=[(STATUS_LABELS[s].lower(), STATUS_COLORS[s]) for s in present],
    )


def credits_gauge(t: TenantView) -> str:
    """The current period's share of credits used."""
    p = t.current_period
    attrs = {"tenant": t.tenant_id, "metric": "credits_used_pct"}
    if p is None:
        return gauge(
            "Credits used, current period",
            None,
            caption="no current period",
            attrs={**attrs, "value": None},
        )
    pct = p["credits_used_pct"]
    return gauge(
        "Credits used, current period",
        None if pct is None else float(pct) / 100,
        caption=f"day {p['days_elapsed']} of {p['period_days']}",
        attrs={**attrs, "value": pct},
        color=STATUS_COLORS.get(p["utilization_status"], STATUS_COLORS["unknown"]),
    )


def volume_chart(t: TenantView) -> str:
    """Emails requested per month by the parent and its subusers (``*``: month to date)."""
    months = t.volume
    labels = [
        month_label(m["activity_month"]) + ("*" if m["is_month_to_date"] else "") for m in months
    ]
    return bar_chart(
        f"Monthly emails requested — {t.name}",
        labels,
        [
            _column_series("Parent", months, "parent_requests", "#1a82e2"),
            _column_series("Subusers", months, "subuser_requests", "#7fb8f0"),
        ],
        attrs={"tenant": t.tenant_id, "metric": "monthly_requests"},
        point_labels=[m["activity_month"].isoformat() for m in months],
        empty_text=_no_volume(t, "No email activity yet"),
        unknown_text="Volume unknown: stats not readable",
    )


def seats_chart(t: TenantView) -> str:
    """Admins and teammates per week, with the plan's seat limit when it is on the scale."""
    seats = t.seat_weeks
    latest = t.latest_seats
    peak = _peak_seats(t)
    limit = latest["seat_limit"] if latest else None
    draw_limit = limit is not None and limit <= max(3 * peak, 3)
    return bar_chart(
        f"Seats by role — {t.name}",
        [day_label(s["seat_date"]) for s in seats],
        [
            _column_series("Admins", seats, "admin_count", "#1a82e2"),
            _column_series("Teammates", seats, "teammate_count", "#9b51e0"),
        ],
        limit=limit if draw_limit else None,
        limit_label="seat limit",
        attrs={"tenant": t.tenant_id, "metric": "seats_by_role"},
        point_labels=[s["seat_date"].isoformat() for s in seats],
        # A readable seat stream always has the as-of day's row: no row is unknown, not none.
        empty_text="No teammates seen yet" if seats else SEATS_UNKNOWN,
        unknown_text=SEATS_UNKNOWN,
    )


def _peak_seats(t: TenantView) -> int:
    """The most seats used in a week shown (weeks whose seats are unknown do not count)."""
    return max((s["seats_used"] for s in t.seat_weeks if s["seats_used"] is not None), default=0)


def seat_limit_off_scale(t: TenantView) -> bool:
    """Whether the seat limit is too far above the seats to be drawn."""
    latest = t.latest_seats
    peak = _peak_seats(t)
    return bool(
        latest and latest["seat_limit"] is not None and latest["seat_limit"] > max(3 * peak, 3)
    )


def _partial_days(days: list[Row]) -> list[bool]:
    """Per day, whether the model flags it as read only in part (``is_complete_day`` false)."""
    return [r.get("is_complete_day") is False for r in days]


def delivery_chart(t: TenantView) -> str:
    """The busiest sender's daily delivery rate; days read in part are hollow points."""
    days = t.deliverability
    values = [float(r["delivery_rate"]) for r in days if r["delivery_rate"] is not None]
    y_min, y_max = 0.0, None
    if values:
        # A round span ending at 100 %, or above the highest rate when one exceeds 100 % (mail
        # deferred one day is delivered the next: never clipped), starting under the lowest.
        floor = max(0.0, (int(min(values) * 20) - 1) / 20)
        y_max, _ = scale(max(1.0, *values) - floor)
        y_min = max(0.0, 1.0 - y_max) if max(values) <= 1.0 else floor
    return line_chart(
        f"Daily delivery rate — {t.name}",
        [day_label(r["activity_date"]) for r in days],
        [_column_series("Delivery rate", days, "delivery_rate", "#22a06b")],
        fmt=fmt_pct,
        y_min=y_min,
        y_max=y_max,
        attrs={"tenant": t.tenant_id, "metric": "delivery_rate"},
        point_labels=[r["activity_date"].isoformat() for r in days],
        empty_text=_no_volume(t, "No delivery rate: nothing requested"),
        partial=_partial_days(days),
        partial_label=PARTIAL_DAY,
    )


def bounce_spam_chart(t: TenantView) -> str:
    """The busiest sender's daily bounce and spam report rates; days read in part hollow."""
    days = t.deliverability
    return line_chart(
        f"Daily bounce and spam report rates — {t.name}",
        [day_label(r["activity_date"]) for r in days],
        [
            _column_series("Bounce rate", days, "bounce_rate", "#eb5757"),
            _column_series("Spam report rate", days, "spam_report_rate", "#9b51e0"),
        ],
        fmt=fmt_pct,
        attrs={"tenant": t.tenant_id, "metric": "bounce_spam_rates"},
        point_labels=[r["activity_date"].isoformat() for r in days],
        empty_text=_no_volume(t, "No rates: nothing requested"),
        partial=_partial_days(days),
        partial_label=PARTIAL_DAY,
    )


def suppressions_chart(t: TenantView) -> str:
    """New suppressions per month by kind."""
    months = sorted({s["suppression_month"] for s in t.suppressions})
    by = {(s["suppression_month"], s["suppression_kind"]): s for s in t.suppressions}
    series = [
        Series(
            name,
            [by[(m, kind)]["new_suppressions"] if (m, kind) in by else None for m in months],
            key=kind,
            color=color,
        )
        for kind, name, color in SUPPRESSION_KINDS
    ]
    return bar_chart(
        f"New suppressions per month — {t.name}",
        [month_label(m) for m in months],
        series,
        attrs={"tenant": t.tenant_id, "metric": "new_suppressions"},
        point_labels=[m.isoformat() for m in months],
        empty_text="No suppressions" if months else NO_SUPPRESSION_ROWS,
        unknown_text=SUPPRESSIONS_UNKNOWN,
    )


def _no_volume(t: TenantView, nothing: str) -> str:
    """An empty volume chart's caption: ``nothing`` sent, or unknown (30-day volume null)."""
    if t.overview.get("requests_30d") is None:
        return "Volume unknown: this organization's stats could not be read"
    return nothing


def tenant_charts(t: TenantView) -> dict[str, str]:
    """Every chart of the tenant's section, by name."""
    return {
        "credits": credits_chart(t),
        "gauge": credits_gauge(t),
        "volume": volume_chart(t),
        "seats": seats_chart(t),
        "delivery": delivery_chart(t),
        "bounce_spam": bounce_spam_chart(t),
        "suppressions": suppressions_chart(t),
    }
