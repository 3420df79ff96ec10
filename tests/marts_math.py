"""Arithmetic the tests recompute marts with (the same rules as the SQL)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal


def months_back(month: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months before ``month``."""
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def percentile_cont(values: list[int], q: float) -> float:
    """PostgreSQL ``percentile_cont`` (linear interpolation between the sorted values)."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def expected_monthly_cost(
    plan: dict, p95: int, current: str | None, current_price: Decimal | None
) -> tuple[Decimal | None, Decimal]:
    """(price, overage) of a plan for a tenant, as ``int_sendgrid__plan_costs`` prices it.

    The price is the plan's list price (the current plan: what the tenant pays, its contract's
    when one is set; None = unknown, Premier without a contract); the overage is what a p95
    month costs on it at its rate (none without a rate: Free is a hard cap, Premier custom).

    Args:
        plan: a ``sendgrid_plan_catalog`` row (plan_code, monthly_emails, monthly_price_usd,
            overage_usd_per_1k, tier_rank).
        p95: the tenant's p95 monthly requests.
        current: the tenant's current plan code.
        current_price: what the tenant pays for its current plan (None: unknown).

    Returns:
        The monthly price (None when unknown) and the expected overage, rounded to cents.
    """
    price = current_price if plan["plan_code"] == current else plan["monthly_price_usd"]
    emails, rate = plan["monthly_emails"], plan["overage_usd_per_1k"]
    if rate is None or emails is None:
        return price, Decimal("0.00")
    over = Decimal(max(p95 - emails, 0)) / 1000 * rate
    return price, over.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def recommended_plan(
    fits: list[dict], p95: int, required: int, current: str | None, current_price: Decimal | None
) -> dict:
    """The plan ``int_sendgrid__plan_costs`` recommends among the plans that hold the tenant.

    Least expected monthly cost (price + a p95 month's overage), Premier without a price last.
    Paying overage is weighed only against a covering plan (one holding ``required``) of known
    price: when only Premier without a price covers, the pick is made among the covering
    plans. On a tie of expected cost the current plan wins (a change at no saving is noise),
    then the plan covering the needed volume, then the lower tier.

    Args:
        fits: the catalog rows that hold the tenant's seats, subusers, IPs, validation and
            busiest day (a plan without an overage rate only when it covers ``required``).
        p95: the tenant's p95 monthly requests.
        required: the needed monthly volume (max(peak, p95 x (1 + headroom))).
        current: the tenant's current plan code.
        current_price: what the tenant pays for its current plan (None: unknown).

    Returns:
        The recommended catalog row.
    """

    def covers(plan: dict) -> bool:
        return plan["monthly_emails"] is None or plan["monthly_emails"] >= required

    has_cover = any(covers(p) for p in fits)
    has_priced_cover = any(
        covers(p) and expected_monthly_cost(p, p95, current, current_price)[0] is not None
        for p in fits
    )

    def rank(plan: dict) -> tuple:
        price, over = expected_monthly_cost(plan, p95, current, current_price)
        weighable = covers(plan) or has_priced_cover or not has_cover
        return (
            not weighable,
            price is None,
            (price or 0) + over,
            plan["plan_code"] != current,
            not covers(plan),
            plan["tier_rank"],
        )

    return min(fits, key=rank)
