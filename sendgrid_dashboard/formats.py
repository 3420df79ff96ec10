"""How the page writes values: numbers, percentages, money with a sign and words, instants.

Formatting only: every value comes from a reporting model as dbt computed it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from markupsafe import Markup
from sendgrid_hook.display import human_instant, plural

from sendgrid_dashboard.svg import fmt_pct


def bdi(value: Any) -> Markup:
    """A name quoted in a sentence, escaped, in a ``<bdi>`` ('' for null).

    It keeps its own direction, and a bidi override in it (U+202E, never closed) ends with it
    instead of reversing the rest of the sentence on screen.
    """
    return Markup("<bdi>%s</bdi>") % ("" if value is None else str(value))


def n_int(value: Any) -> str:
    """``12,345`` (``—`` for null)."""
    return "—" if value is None else f"{int(value):,}"


def n_decimal(value: Any, places: int = 2) -> str:
    """A fractional column with its decimals: ``1,234.56``, ``0.60`` (``—`` for null)."""
    return "—" if value is None else f"{Decimal(value):,.{places}f}"


def n_pct100(value: Any) -> str:
    """A percentage column (0–100 scale): ``42.5%``."""
    return "—" if value is None else f"{float(value):,.1f}%"


def n_rate(value: Any) -> str:
    """A ratio column (0–1 scale): ``1.2%``."""
    return "—" if value is None else fmt_pct(float(value))


def n_usd(value: Decimal | None, unknown: str = "—") -> str:
    """``$1,234.50`` (a minus sign for negative amounts; ``unknown`` for null)."""
    if value is None:
        return unknown
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def n_change(value: Decimal | None, recommendation: str | None) -> str:
    """A monthly cost change in words: ``upgrade: +$X/month``, ``downgrade: saves $X/month``."""
    if value is None or recommendation in (None, "no_data"):
        return "no recommendation yet" if recommendation == "no_data" else "cost change unknown"
    if value > 0:
        return f"{recommendation}: +{n_usd(value)}/month"
    if value < 0:
        return f"{recommendation}: saves {n_usd(-value)}/month"
    return f"{recommendation}: no change in cost"


def n_runs_out(period: dict[str, Any]) -> str:
    """When a credit period's credits run out, in words, from its model row's columns.

    ``days_until_exhausted`` alone reads wrong at the edges: ``0`` for credits used up days ago,
    null for a rate of 0 (never, not unknown), a count of days past the period's reset.
    """
    days, date = period.get("days_until_exhausted"), period.get("projected_exhaustion_date")
    remain, rate = period.get("credits_remain"), period.get("daily_run_rate")
    if remain is not None and remain <= 0:
        return "used up"
    if days is None:
        return "not at the current rate" if rate is not None and rate == 0 else "—"
    if date is None:
        return "not this period"
    return f"in {days:,} {plural('day', days)} ({n_day(date)})"


def n_when(value: dt.datetime | dt.date | None) -> str:
    """``2026-11-28 06:00 UTC`` or ``2026-11-28``."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return human_instant(value)
    return value.isoformat()


def n_day(value: dt.datetime | dt.date | None) -> str:
    """The day of an instant in UTC, ``2026-11-28`` (never the database session's time zone).

    A naive value is taken as UTC, as :func:`n_when` does.
    """
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).date().isoformat()
    return value.isoformat()


def n_hours(value: Any) -> str:
    """An age in hours: ``30.2 h`` under two days, else ``3.5 days``."""
    if value is None:
        return "—"
    hours = float(value)
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def split_list(value: str | None) -> list[str]:
    """A comma-separated column as items."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]
