"""Reporting models that each restate one fixture mart the way their dbt SQL does.

Windows ending on the as-of day, the busiest sender of each tenant, weekly seat samples, the
flagged API keys, the last twelve months... ``reporting_fixture`` assembles them with the
overview, health and overage models.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from .marts_schema import AS_OF, TENANTS, TODAY, Row, md5, month_start, next_month


def credit_period_rows(periods: list[Row]) -> list[Row]:
    rows = []
    for tid in {p["tenant_id"] for p in periods}:
        own = sorted(
            (p for p in periods if p["tenant_id"] == tid), key=lambda p: p["period_start_date"]
        )
        for rank, p in enumerate(reversed(own), start=1):
            if rank <= 12:
                rows.append({**p, "recency_rank": rank})
    return rows


def monthly_volume_rows(activity: list[Row]) -> list[Row]:
    first_shown = month_start(TODAY, 11)
    sums: dict[tuple[str, dt.date], Row] = {}
    for r in activity:
        month = month_start(r["activity_date"])
        key = (r["tenant_id"], month)
        row = sums.setdefault(
            key, {"parent": 0, "subuser": 0, "days": set(), "last": r["activity_date"]}
        )
        row[r["sender_type"]] += r["requests"]
        row["days"].add(r["activity_date"])
        row["last"] = max(row["last"], r["activity_date"])
    rows = []
    for tid in {t for t, _ in sums}:
        first = max(first_shown, min(month for t, month in sums if t == tid))
        month = first
        while month <= month_start(TODAY):
            s = sums.get((tid, month))
            rows.append(
                {
                    "volume_month_id": md5(tid, month),
                    "tenant_id": tid,
                    "activity_month": month,
                    "parent_requests": s["parent"] if s else 0,
                    "subuser_requests": s["subuser"] if s else 0,
                    "requests": s["parent"] + s["subuser"] if s else 0,
                    "days_with_data": len(s["days"]) if s else 0,
                    "last_activity_date": s["last"] if s else None,
                    "is_month_to_date": month == month_start(TODAY)
                    and TODAY + dt.timedelta(days=1) < next_month(month),
                    "as_of_at": AS_OF,
                }
            )
            month = next_month(month)
    return rows


def deliverability_rows(activity: list[Row]) -> list[Row]:
    window = [r for r in activity if TODAY - dt.timedelta(days=90) < r["activity_date"] <= TODAY]
    volume: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for r in window:
        volume[r["tenant_id"]][(r["sender_type"], r["subuser_username"])] += r["requests"]
    rows = []
    for tid, senders in volume.items():
        busiest = min(senders, key=lambda k: (-senders[k], k[0] != "parent", k[1]))
        for r in window:
            if r["tenant_id"] == tid and (r["sender_type"], r["subuser_username"]) == busiest:
                rows.append(
                    {
                        "activity_day_id": r["activity_day_id"],
                        "tenant_id": tid,
                        "sender_type": r["sender_type"],
                        "subuser_username": r["subuser_username"],
                        "sender_username": r["sender_username"],
                        "sender_count": len(senders),
                        "activity_date": r["activity_date"],
                        "requests": r["requests"],
                        "delivered": r["delivered"],
                        "delivery_rate": r["delivery_rate"],
                        "bounce_rate": r["bounce_rate"],
                        "spam_report_rate": r["spam_report_rate"],
                        "is_complete_day": True,
                        "as_of_at": AS_OF,
                    }
                )
    return rows


def seat_week_rows(seats: list[Row]) -> list[Row]:
    return [
        s
        for s in seats
        if (TODAY - s["seat_date"]).days % 7 == 0
        and s["seat_date"] > TODAY - dt.timedelta(days=7 * 13)
    ]


def seat_activity_rows() -> list[Row]:
    rows = []
    for tid, t in TENANTS.items():
        subs = t["subusers"]
        active = min(subs, len(t["senders"]) - 1)
        disabled = 1 if subs > 2 else 0
        for kind, total, enabled, act in (
            ("teammate", t["admins"] + t["teammates"], t["admins"] + t["teammates"], None),
            ("subuser", subs, subs - disabled, active),
        ):
            if not total:
                continue
            counts = {}
            for days, share in ((30, 1), (60, 1), (90, 1)):
                active_n = act if act is not None else max(0, total - 3 + days // 30) * share
                active_n = min(active_n, total)
                counts[f"seats_active_{days}d"] = active_n
                counts[f"seats_inactive_{days}d"] = total - active_n
            rows.append(
                {
                    "seat_kind_id": md5(tid, kind),
                    "tenant_id": tid,
                    "seat_kind": kind,
                    "seats_total": total,
                    "seats_enabled": enabled,
                    **counts,
                    "seats_activity_unknown": 0,
                    "active_30d_share": round(Decimal(counts["seats_active_30d"]) / total, 4),
                    "limited_credit_seats": 0,
                    "credits_allocated": None,
                    "as_of_at": AS_OF,
                }
            )
    return rows


def feature_rows(features: list[Row]) -> list[Row]:
    rows = []
    for tid in {f["tenant_id"] for f in features}:
        own = sorted(
            (f for f in features if f["tenant_id"] == tid),
            key=lambda f: (
                not f["is_used"],
                {True: 0, False: 1, None: 2}[f["is_licensed"]],
                f["feature_name"],
            ),
        )
        rows += [{**f, "display_order": i, "as_of_at": AS_OF} for i, f in enumerate(own, 1)]
    return rows


def key_summary_rows(keys: list[Row]) -> list[Row]:
    rows = []
    for tid in TENANTS:
        own = [k for k in keys if k["tenant_id"] == tid]
        active = [k for k in own if not k["is_deleted"]]
        unknown = sum(1 for k in active if k["has_full_access"] is None)
        rows.append(
            {
                "tenant_id": tid,
                "total_keys": len(own),
                "active_keys": len(active),
                # a count with members of unknown scope is unknown
                "full_access_keys": None
                if unknown
                else sum(1 for k in active if k["has_full_access"]),
                "unknown_scope_keys": unknown,
                "deleted_keys": len(own) - len(active),
                "as_of_at": AS_OF,
            }
        )
    return rows


def flagged_key_rows(keys: list[Row]) -> list[Row]:
    rows = []
    for tid in TENANTS:
        for deleted, kind in ((False, "full_access"), (True, "recently_deleted")):
            listed = sorted(
                (
                    k
                    for k in keys
                    if k["tenant_id"] == tid
                    and k["is_deleted"] == deleted
                    and (deleted or k["has_full_access"])
                ),
                key=lambda k: (
                    -(k["deleted_at"] or k["first_seen_at"]).timestamp(),
                    k["api_key_name"],
                    k["api_key_id"],
                ),
            )[:5]
            for rank, k in enumerate(listed, start=1):
                note = (
                    f"deleted {k['deleted_at']:%Y-%m-%d}"
                    if deleted
                    else "scopes unknown"
                    if k["scope_count"] is None
                    else f"{k['scope_count']} scopes"
                )
                row = {
                    c: k[c]
                    for c in (
                        "tenant_api_key_id",
                        "tenant_id",
                        "subuser_username",
                        "api_key_id",
                        "api_key_name",
                        "scope_count",
                        "has_full_access",
                        "is_deleted",
                        "first_seen_at",
                        "deleted_at",
                    )
                }
                rows.append({**row, "list_kind": kind, "list_rank": rank, "key_note": note})
    return rows


def suppression_rows(supp: list[Row]) -> list[Row]:
    first = month_start(TODAY, 11)
    return [
        {
            **s,
            "is_as_of_month": s["suppression_month"] == month_start(TODAY),
            "as_of_at": AS_OF,
        }
        for s in supp
        if s["suppression_month"] >= first
    ]


def usage_history_rows(periods: list[Row]) -> list[Row]:
    return [
        {
            "usage_period_id": md5(p["tenant_id"], p["period_start_date"]),
            "snapshot_count": 1 + i % 3,
            "first_as_of_at": AS_OF - dt.timedelta(days=3),
            "last_as_of_at": AS_OF,
            "is_period_closed": p["is_period_closed"],
            "figures_from": "closed_period" if p["is_period_closed"] else "latest_snapshot",
            **{
                k: p[k]
                for k in (
                    "tenant_id",
                    "period_start_date",
                    "period_end_date",
                    "days_elapsed",
                    "period_days",
                    "credits_total",
                    "credits_used",
                    "credits_used_pct",
                    "projected_credits_used",
                    "projected_used_pct",
                    "projection_basis",
                    "utilization_status",
                )
            },
        }
        for i, p in enumerate(periods)
        if p["recency_rank"] <= 4 and p["reset_frequency"] == "monthly"
    ]
