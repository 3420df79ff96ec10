"""Rows of the usage marts: daily email activity, credit periods, plan recommendations."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from .marts_schema import (
    AS_OF,
    BUILD_AT,
    LAST_STATS_DAY,
    REVOKED_AT,
    SYNC_AT,
    TENANTS,
    TODAY,
    Row,
    days,
    md5,
    month_start,
    next_month,
    pct,
    rate,
)


def activity_rows(rng: random.Random) -> list[Row]:
    rows = []
    for tid, t in TENANTS.items():
        last = LAST_STATS_DAY - dt.timedelta(days=1 if t["status"] == "needs_reconnect" else 0)
        first = LAST_STATS_DAY - dt.timedelta(days=420 if tid != "xss_tenant" else 45)
        for sub, base in t["senders"].items():
            for d in days(first, last):
                growth = 1 + 0.35 * (d - first).days / 420
                weekly = 0.55 if d.weekday() >= 5 else 1.0
                req = int(base * growth * weekly * rng.uniform(0.8, 1.2))
                if tid == "globex_eu" and d >= month_start(LAST_STATS_DAY):
                    req = int(req * 1.05)
                if sub == "acme-news" and rng.random() < 0.05:
                    req = 0  # a quiet day: null rates for that sender-day
                bounces = int(req * rng.uniform(0.004, 0.03 if tid == "globex_eu" else 0.012))
                blocks = int(req * rng.uniform(0.0, 0.006))
                drops = int(req * rng.uniform(0.0, 0.004))
                delivered = max(0, req - bounces - blocks - drops - int(req * 0.002))
                spam = int(delivered * rng.uniform(0.0, 0.0009))
                opens = int(delivered * rng.uniform(0.25, 0.4))
                uopens = int(opens * 0.7)
                clicks = int(delivered * rng.uniform(0.02, 0.05))
                uclicks = int(clicks * 0.8)
                unsub = int(delivered * rng.uniform(0.0, 0.002))
                rows.append(
                    {
                        "activity_day_id": md5(tid, sub, d),
                        "tenant_id": tid,
                        "sender_type": "subuser" if sub else "parent",
                        "subuser_username": sub,
                        "sender_username": sub or f"{tid}-owner",
                        "activity_date": d,
                        "requests": req,
                        "processed": req - drops,
                        "delivered": delivered,
                        "opens": opens,
                        "unique_opens": uopens,
                        "clicks": clicks,
                        "unique_clicks": uclicks,
                        "bounces": bounces,
                        "blocks": blocks,
                        "deferred": int(req * 0.01),
                        "spam_reports": spam,
                        "unsubscribes": unsub,
                        "invalid_emails": int(req * 0.001),
                        "drops": drops,
                        "delivery_rate": rate(delivered, req),
                        "unique_open_rate": rate(uopens, delivered),
                        "unique_click_rate": rate(uclicks, delivered),
                        "bounce_rate": rate(bounces, req),
                        "block_rate": rate(blocks, req),
                        "spam_report_rate": rate(spam, delivered),
                        "unsubscribe_rate": rate(unsub, delivered),
                        "source_extracted_at": SYNC_AT,
                        "dbt_updated_at": BUILD_AT,
                    }
                )
    return rows


def monthly_requests(activity: list[Row]) -> dict[tuple[str, dt.date], int]:
    """Requests per ``(tenant, month start)`` of the daily activity rows."""
    out: dict[tuple[str, dt.date], int] = {}
    for r in activity:
        key = (r["tenant_id"], month_start(r["activity_date"]))
        out[key] = out.get(key, 0) + r["requests"]
    return out


def period_rows(activity: list[Row]) -> list[Row]:
    requested = monthly_requests(activity)
    rows = []
    for tid, t in TENANTS.items():
        _, _, credits, _, _ = t["plan"]
        if tid == "xss_tenant":  # free: 100 credits a day, reset daily
            for back in range(20, -1, -1):
                start = TODAY - dt.timedelta(days=back)
                used = [3, 0, 12, 0, 0, 1][back % 6]
                rows.append(
                    _period(
                        tid,
                        start,
                        start + dt.timedelta(days=1),
                        "daily",
                        1,
                        credits,
                        used,
                        back == 0,
                    )
                )
            continue
        for back in range(13, -1, -1):
            start = month_start(TODAY, back)
            end = next_month(start)
            current = back == 0
            elapsed = (TODAY - start).days + 1 if current else (end - start).days
            used = requested.get((tid, start), 0)
            if tid == "acme_prod":
                used = int(used * 0.9)
            rows.append(_period(tid, start, end, "monthly", elapsed, credits, used, current))
    return rows


def _period(
    tid: str,
    start: dt.date,
    end: dt.date,
    freq: str,
    elapsed: int,
    total: int,
    used: int,
    current: bool,
) -> Row:
    period_days = (end - start).days
    run_rate = round(Decimal(used) / elapsed, 4)
    projected = int(run_rate * period_days) if current else used
    remain = max(total - used, 0)
    overage = max(used - total, 0)
    projected_pct = pct(projected, total)
    closed = end <= TODAY
    if overage:
        status = "overage"
    elif not closed and elapsed < 7 and freq != "daily":
        status = "insufficient_data"
    elif projected > total:
        status = "at_risk"
    elif projected < total * 0.5:
        status = "under_used"
    else:
        status = "healthy"
    return {
        "credit_period_id": md5(tid, start),
        "tenant_id": tid,
        "period_start_date": start,
        "period_end_date": end,
        "reset_frequency": freq,
        "period_days": period_days,
        "days_elapsed": elapsed,
        "days_remaining": period_days - elapsed,
        "is_current_period": current,
        "is_period_closed": closed,
        "credits_total": total,
        "credits_used": used,
        "credits_remain": remain,
        "credits_overage": overage,
        "emails_requested": used,
        "credits_used_pct": pct(used, total),
        "daily_run_rate": run_rate,
        "projection_basis": "actual" if closed else "period_to_date",
        "rate_days_observed": period_days if closed else elapsed,
        "projection_confidence": "high" if closed else "medium" if elapsed >= 7 else "low",
        "projection_note": "actual use of a closed period"
        if closed
        else f"daily rate of the period so far ({elapsed} days)",
        "projected_credits_used": projected,
        "projected_used_pct": projected_pct,
        "projected_overage_emails": max(projected - total, 0),
        "projected_overage_cost_usd": None,
        "projected_exhaustion_date": None,
        "days_until_exhausted": (
            None if used == 0 else 0 if remain == 0 else int(remain / run_rate)
        ),
        "utilization_status": status,
        "observed_at": REVOKED_AT if tid == "initech" else SYNC_AT,
        "as_of_at": AS_OF,
    }


def recommendation_rows(activity: list[Row]) -> list[Row]:
    recs = {
        "acme_prod": ("pro_100k", "Pro 100K", Decimal("89.95"), "downgrade"),
        "globex_eu": ("pro_300k", "Pro 300K", Decimal("249.00"), "upgrade"),
        "initech": ("pro_100k", "Pro 100K", Decimal("89.95"), "keep"),
        "xss_tenant": ("free", "Free", Decimal("0.00"), "keep"),
    }
    monthly = monthly_requests(activity)
    rows = []
    for tid, t in TENANTS.items():
        code, _, _, price, _ = t["plan"]
        full = [v for (k, m), v in monthly.items() if k == tid and m < month_start(LAST_STATS_DAY)][
            -12:
        ]
        peak = max(full, default=0)
        p95 = sorted(full)[max(0, int(len(full) * 0.95) - 1)] if full else 0
        rcode, rname, rprice, rec = recs[tid]
        rows.append(
            {
                "tenant_id": tid,
                "current_plan_code": code,
                "current_monthly_price_usd": price,
                "is_contract_price": False,
                "months_observed": len(full),
                "peak_monthly_requests": peak,
                "p95_monthly_requests": p95,
                "required_monthly_emails": max(peak, int(p95 * 1.2) + 1),
                "seats_used": t["admins"] + t["teammates"],
                "enabled_subusers": max(0, t["subusers"] - (1 if t["subusers"] > 2 else 0)),
                "dedicated_ips": 1 if code.startswith("pro") else 0,
                "recommended_plan_code": rcode,
                "recommended_plan_name": rname,
                "recommended_monthly_price_usd": rprice,
                # every recommended plan here covers the p95 month: no expected overage
                "recommended_monthly_overage_usd": Decimal("0.00"),
                "current_monthly_overage_usd": Decimal("0.00"),
                "current_monthly_cost_usd": price,
                "monthly_cost_change_usd": Decimal("0.00") if rec == "keep" else rprice - price,
                "recommendation": rec,
                "recommendation_text": _recommendation_text(rec, rname, rprice - price),
                "as_of_at": AS_OF,
            }
        )
    return rows


def _recommendation_text(rec: str, name: str, change: Decimal) -> str:
    if rec == "keep":
        return "keep current plan"
    if change > 0:
        return f"{rec} to {name}: +${change:,.2f}/month"
    return f"{rec} to {name}: saves ${-change:,.2f}/month"
