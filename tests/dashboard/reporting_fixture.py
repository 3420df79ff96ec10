"""The reporting models (``rpt_sendgrid_*``) of the fixture warehouse, from the fixture marts.

``marts_fixture`` generates the marts' rows (four tenants with data); this module derives the
rows of each reporting model the way its dbt SQL does (windows ending on the as-of day, the
busiest sender, weekly seat samples...) and adds ``newco``, an organization whose first sync
has not happened yet (no figures, ``no_data`` recommendation). Only these tables are created
in the test database: a dashboard reading anything else fails.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from . import marts_fixture as m

Row = dict[str, Any]
NEW_TENANT = "newco"
NEW_STATUS_TEXT = "not synced yet: no figures until the first successful extraction"
NO_DATA_TEXT = "no recommendation until the first successful sync"


def _credit_periods(periods: list[Row]) -> list[Row]:
    rows = []
    for tid in {p["tenant_id"] for p in periods}:
        own = sorted(
            (p for p in periods if p["tenant_id"] == tid), key=lambda p: p["period_start_date"]
        )
        for rank, p in enumerate(reversed(own), start=1):
            if rank <= 12:
                rows.append({**p, "recency_rank": rank})
    return rows


def _monthly_volume(activity: list[Row]) -> list[Row]:
    first_shown = m.month_start(m.TODAY, 11)
    sums: dict[tuple[str, dt.date], Row] = {}
    for r in activity:
        month = m.month_start(r["activity_date"])
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
        while month <= m.month_start(m.TODAY):
            s = sums.get((tid, month))
            rows.append(
                {
                    "volume_month_id": m.md5(tid, month),
                    "tenant_id": tid,
                    "activity_month": month,
                    "parent_requests": s["parent"] if s else 0,
                    "subuser_requests": s["subuser"] if s else 0,
                    "requests": s["parent"] + s["subuser"] if s else 0,
                    "days_with_data": len(s["days"]) if s else 0,
                    "last_activity_date": s["last"] if s else None,
                    "is_month_to_date": month == m.month_start(m.TODAY)
                    and m.TODAY + dt.timedelta(days=1) < m.next_month(month),
                    "as_of_at": m.AS_OF,
                }
            )
            month = m.next_month(month)
    return rows


def _deliverability(activity: list[Row]) -> list[Row]:
    window = [
        r for r in activity if m.TODAY - dt.timedelta(days=90) < r["activity_date"] <= m.TODAY
    ]
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
                        "as_of_at": m.AS_OF,
                    }
                )
    return rows


def _seat_weeks(seats: list[Row]) -> list[Row]:
    return [
        s
        for s in seats
        if (m.TODAY - s["seat_date"]).days % 7 == 0
        and s["seat_date"] > m.TODAY - dt.timedelta(days=7 * 13)
    ]


def _seat_activity() -> list[Row]:
    rows = []
    for tid, t in m.TENANTS.items():
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
                    "seat_kind_id": m.md5(tid, kind),
                    "tenant_id": tid,
                    "seat_kind": kind,
                    "seats_total": total,
                    "seats_enabled": enabled,
                    **counts,
                    "seats_activity_unknown": 0,
                    "active_30d_share": round(Decimal(counts["seats_active_30d"]) / total, 4),
                    "limited_credit_seats": 0,
                    "credits_allocated": None,
                    "as_of_at": m.AS_OF,
                }
            )
    return rows


def _features(features: list[Row]) -> list[Row]:
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
        rows += [{**f, "display_order": i, "as_of_at": m.AS_OF} for i, f in enumerate(own, 1)]
    return rows


def _key_summary(keys: list[Row]) -> list[Row]:
    rows = []
    for tid in m.TENANTS:
        own = [k for k in keys if k["tenant_id"] == tid]
        active = [k for k in own if not k["is_deleted"]]
        rows.append(
            {
                "tenant_id": tid,
                "total_keys": len(own),
                "active_keys": len(active),
                "full_access_keys": sum(1 for k in active if k["has_full_access"]),
                "unknown_scope_keys": sum(1 for k in active if k["has_full_access"] is None),
                "deleted_keys": len(own) - len(active),
                "as_of_at": m.AS_OF,
            }
        )
    return rows


def _keys_flagged(keys: list[Row]) -> list[Row]:
    rows = []
    for tid in m.TENANTS:
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


def _suppressions(supp: list[Row]) -> list[Row]:
    first = m.month_start(m.TODAY, 11)
    return [
        {
            **s,
            "is_as_of_month": s["suppression_month"] == m.month_start(m.TODAY),
            "as_of_at": m.AS_OF,
        }
        for s in supp
        if s["suppression_month"] >= first
    ]


def _health(health: list[Row]) -> list[Row]:
    rows = []
    for h in health:
        status = h["connection_status"]
        text = {
            "needs_reconnect": "SendGrid rejects the credential: figures are frozen at the last "
            f"successful sync, {round(h['data_age_hours'])} hours old",
            "degraded": f"connected, {h['missing_scope_stream_count']} stream(s) unreadable for "
            "missing scopes",
        }.get(status, "connected")
        row = {k: v for k, v in h.items() if k != "last_data_at"}
        rows.append(
            {
                **row,
                "needs_reconnect": status == "needs_reconnect",
                "is_degraded": status == "degraded",
                "status_text": text,
            }
        )
    return rows


def _overage(periods: list[Row], overview: list[Row]) -> list[Row]:
    rows = []
    for p in periods:
        if not p["is_current_period"] or p["utilization_status"] not in ("overage", "at_risk"):
            continue
        o = next(o for o in overview if o["tenant_id"] == p["tenant_id"])
        over = p["projected_overage_emails"]
        cost = round(Decimal(over) * Decimal("0.00133"), 2)
        rows.append(
            {
                **{
                    k: p[k]
                    for k in (
                        "credit_period_id",
                        "tenant_id",
                        "period_start_date",
                        "period_end_date",
                        "days_remaining",
                        "credits_total",
                        "credits_used",
                        "daily_run_rate",
                        "projection_basis",
                        "projection_confidence",
                        "projected_credits_used",
                        "projected_used_pct",
                        "projected_exhaustion_date",
                        "projected_overage_emails",
                    )
                },
                "display_name": o["display_name"],
                "plan_name": o["plan_name"],
                "projected_overage_cost_usd": cost,
                "is_over_plan": p["credits_overage"] > 0,
                "alert_text": f"{o['display_name']} is over its {o['plan_name']} credits: "
                f"{over:,} emails over by {p['period_end_date']}",
                "as_of_at": m.AS_OF,
            }
        )
    return rows


def _usage_history(periods: list[Row]) -> list[Row]:
    return [
        {
            "usage_period_id": m.md5(p["tenant_id"], p["period_start_date"]),
            "snapshot_count": 1 + i % 3,
            "first_as_of_at": m.AS_OF - dt.timedelta(days=3),
            "last_as_of_at": m.AS_OF,
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


def _new_tenant(overview: list[Row], health: list[Row], recs: list[Row]) -> None:
    """``newco``: connected, never synced: no figures, no recommendation."""
    zero_cols = (
        "seats_used",
        "pending_invites_valid",
        "subusers_total",
        "subusers_active_30d",
        "subusers_active_60d",
        "subusers_active_90d",
        "subusers_inactive_30d",
        "subusers_inactive_90d",
        "features_used",
        "features_licensed",
        "features_unused_paid",
        "features_not_licensed",
        "features_unknown",
        "requests_30d",
    )
    row = {k: None for k in overview[0]}
    row.update(dict.fromkeys(zero_cols, 0))
    row.update(
        tenant_id=NEW_TENANT,
        display_name="NewCo Labs",
        connection_status="connected",
        sync_state="never_synced",
        has_data=False,
        utilization_status="unknown",
        is_overage_expected=False,
        recommendation="no_data",
        recommendation_text=NO_DATA_TEXT,
        as_of_at=m.AS_OF,
    )
    overview.append(row)
    health.append(
        {k: None for k in health[0]}
        | {
            "tenant_id": NEW_TENANT,
            "display_name": "NewCo Labs",
            "connection_status": "connected",
            "sync_state": "never_synced",
            "has_data": False,
            "needs_reconnect": False,
            "is_degraded": False,
            "ok_stream_count": 0,
            "missing_scope_stream_count": 0,
            "not_licensed_stream_count": 0,
            "status_text": NEW_STATUS_TEXT,
            "as_of_at": m.AS_OF,
        }
    )
    recs.append(
        {k: None for k in recs[0]}
        | {
            "tenant_id": NEW_TENANT,
            "is_contract_price": False,
            "recommendation": "no_data",
            "recommendation_text": NO_DATA_TEXT,
            "months_observed": 0,
            "peak_monthly_requests": 0,
            "p95_monthly_requests": 0,
            "required_monthly_emails": 0,
            "seats_used": 0,
            "enabled_subusers": 0,
            "dedicated_ips": 0,
            "as_of_at": m.AS_OF,
        }
    )


def build_reporting() -> dict[str, list[Row]]:
    """Every reporting model's rows, keyed by model name."""
    marts = m.build_rows()
    periods = _credit_periods(marts["fct_sendgrid_plan_utilization"])
    overview = [dict(o) for o in marts["rpt_sendgrid_utilization_overview"]]
    dims = {d["tenant_id"]: d for d in marts["dim_sendgrid_tenants"]}
    cur = {p["tenant_id"]: p for p in periods if p["is_current_period"]}
    health = _health(marts["fct_sendgrid_connection_health"])
    for o in overview:
        d, p = dims[o["tenant_id"]], cur[o["tenant_id"]]
        for col in (
            "company_name",
            "region",
            "account_type",
            "reputation",
            "plan_code",
            "plan_inference_basis",
            "credits_total",
            "credits_used",
        ):
            o[col] = d[col]
        o["projected_used_pct"] = p["projected_used_pct"]
        o["days_until_exhausted"] = p["days_until_exhausted"]
        o["subusers_enabled"] = d["enabled_subuser_count"]
        o["data_age_hours"] = next(h for h in health if h["tenant_id"] == o["tenant_id"])[
            "data_age_hours"
        ]
    overage = _overage(periods, overview)
    for o in overview:
        match = [f for f in overage if f["tenant_id"] == o["tenant_id"]]
        o["is_overage_expected"] = bool(match)
        o["projected_overage_cost_usd"] = match[0]["projected_overage_cost_usd"] if match else None
    recs = [
        {**r, "current_plan_name": dims[r["tenant_id"]]["plan_name"]}
        for r in marts["fct_sendgrid_plan_recommendation"]
    ]
    _new_tenant(overview, health, recs)
    ordered = sorted(overview, key=lambda o: (-o["requests_30d"], o["display_name"]))
    for i, o in enumerate(ordered, start=1):
        o["display_order"] = i
    portfolio = m._portfolio(overview, health)
    portfolio["projected_overage_cost_usd"] = sum(
        (f["projected_overage_cost_usd"] for f in overage), Decimal(0)
    )
    keys = marts["dim_sendgrid_api_keys"]
    return {
        "rpt_sendgrid_portfolio": [portfolio],
        "rpt_sendgrid_utilization_overview": overview,
        "rpt_sendgrid_tenant_health": health,
        "rpt_sendgrid_credit_periods": periods,
        "rpt_sendgrid_overage_forecast": overage,
        "rpt_sendgrid_usage_history": _usage_history(periods),
        "rpt_sendgrid_monthly_volume": _monthly_volume(marts["fct_sendgrid_email_activity_daily"]),
        "rpt_sendgrid_deliverability_daily": _deliverability(
            marts["fct_sendgrid_email_activity_daily"]
        ),
        "rpt_sendgrid_seat_weeks": _seat_weeks(marts["fct_sendgrid_seat_utilization"]),
        "rpt_sendgrid_seat_activity": _seat_activity(),
        "rpt_sendgrid_features": _features(marts["fct_sendgrid_feature_adoption"]),
        "rpt_sendgrid_api_key_summary": _key_summary(keys),
        "rpt_sendgrid_api_keys_flagged": _keys_flagged(keys),
        "rpt_sendgrid_suppressions_monthly": _suppressions(
            marts["fct_sendgrid_suppressions_monthly"]
        ),
        "rpt_sendgrid_plan_recommendation": recs,
    }
