"""The ``sendgrid_marts`` tables, created from the dbt contract, filled with realistic rows.

The DDL is generated from the contracts of ``dbt_project/models/marts/_sendgrid__marts.yml`` and
``dbt_project/models/reporting/_sendgrid__reporting.yml`` (column names, data types and not-null
constraints), so a renamed or retyped mart column breaks these tests the way it would break the
dashboard on the real marts.

Four tenants, deterministic, as of 2026-11-28 (stats to 2026-11-27):

* ``acme_prod``: Pro 300K, connected, two busy subusers, under-used credits, downgrade advised;
* ``globex_eu``: Essentials 100K in the EU region, **overage** this month, upgrade advised, two
  teammates on a one-seat plan;
* ``initech``: Pro 100K whose key was revoked: **needs_reconnect**, data 30 hours old;
* ``xss_tenant``: a free account named ``<script>…`` that requested nothing (**null rates**),
  daily credit resets, degraded by missing scopes.

The tables, shared facts and helpers are in ``marts_schema``; the rows of the usage marts in
``marts_usage``, of the account marts in ``marts_accounts``; this module derives the tenant
dimension, the overview and the portfolio from them and loads everything.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import psycopg

from .marts_accounts import feature_rows, health_rows, key_rows, seat_rows, suppression_rows
from .marts_schema import (
    AS_OF,
    TENANTS,
    XSS_NAME,
    Row,
    create_marts,
    insert,
    last_success_at,
    mart_columns,
    rate,
    read_mart,
)
from .marts_usage import activity_rows, period_rows, recommendation_rows

# The names the dashboard and transform tests import from here.
__all__ = ["XSS_NAME", "Row", "build_rows", "create_marts", "load_marts", "mart_columns"]


def _tenants_and_overview(
    periods: list[Row],
    seats: list[Row],
    features: list[Row],
    activity: list[Row],
    recs: list[Row],
) -> tuple[list[Row], list[Row]]:
    dims, overview = [], []
    for tid, t in TENANTS.items():
        code, name, credits, _, _ = t["plan"]
        cur = next(p for p in periods if p["tenant_id"] == tid and p["is_current_period"])
        seat = next(s for s in seats if s["tenant_id"] == tid and s["is_latest_day"])
        feats = [f for f in features if f["tenant_id"] == tid]
        last = max(r["activity_date"] for r in activity if r["tenant_id"] == tid)
        recent = [
            r
            for r in activity
            if r["tenant_id"] == tid and r["activity_date"] > last - dt.timedelta(days=30)
        ]
        req = sum(r["requests"] for r in recent)
        delivered = sum(r["delivered"] for r in recent)
        rec = next(r for r in recs if r["tenant_id"] == tid)
        sync = last_success_at(tid)
        dims.append(
            {
                "tenant_id": tid,
                "display_name": t["display_name"],
                "company_name": t["display_name"],
                "country": "DE" if t["region"] == "eu" else "US",
                "region": t["region"],
                "account_type": t["account_type"],
                "reputation": t["reputation"],
                "credits_total": credits,
                "credits_used": cur["credits_used"],
                "credits_reset_frequency": cur["reset_frequency"],
                "plan_code": code,
                "plan_name": name,
                "plan_inference_basis": t["basis"],
                "seats_used": seat["seats_used"],
                "subuser_count": t["subusers"],
                "enabled_subuser_count": rec["enabled_subusers"],
                "connection_status": t["status"],
                "sync_state": "stale" if t["status"] == "needs_reconnect" else "synced",
                "has_data": True,
                "last_successful_sync_at": sync,
            }
        )
        overview.append(
            {
                "tenant_id": tid,
                "display_name": t["display_name"],
                "plan_name": name,
                "connection_status": t["status"],
                "credits_used_pct": cur["credits_used_pct"],
                "utilization_status": cur["utilization_status"],
                "seats_used_pct": seat["seats_used_pct"],
                "features_used": sum(1 for f in feats if f["is_used"]),
                "features_licensed": sum(1 for f in feats if f["is_licensed"]),
                "requests_30d": req,
                "bounce_rate_30d": rate(sum(r["bounces"] for r in recent), req),
                "spam_report_rate_30d": rate(sum(r["spam_reports"] for r in recent), delivered),
                "recommended_plan_name": rec["recommended_plan_name"],
                "recommended_plan_code": rec["recommended_plan_code"],
                "recommendation": rec["recommendation"],
                "monthly_cost_change_usd": rec["monthly_cost_change_usd"],
                "recommendation_text": rec["recommendation_text"],
                "last_successful_sync_at": sync,
                "display_order": 0,
                "sync_state": dims[-1]["sync_state"],
                "has_data": True,
                "projection_basis": cur["projection_basis"],
                "projection_confidence": cur["projection_confidence"],
                "is_overage_expected": cur["utilization_status"] in ("overage", "at_risk"),
                "seats_used": seat["seats_used"],
                "pending_invites_valid": seat["pending_invites_valid"],
                "subusers_total": seat["subusers_total"],
                "subusers_active_30d": seat["subusers_active_30d"],
                "subusers_active_60d": seat["subusers_active_60d"],
                "subusers_active_90d": seat["subusers_active_90d"],
                "subusers_inactive_30d": seat["subusers_inactive_30d"],
                "subusers_inactive_90d": seat["subusers_inactive_90d"],
                "features_unused_paid": sum(
                    1 for f in feats if f["feature_state"] == "unused_paid"
                ),
                "features_not_licensed": sum(
                    1 for f in feats if f["feature_state"] == "not_licensed"
                ),
                "features_unknown": sum(1 for f in feats if f["feature_state"] == "unknown"),
                "as_of_at": AS_OF,
            }
        )
    ordered = sorted(overview, key=lambda o: (-o["requests_30d"], o["display_name"]))
    for i, o in enumerate(ordered, start=1):
        o["display_order"] = i
    return dims, overview


def _portfolio(overview: list[Row], health: list[Row]) -> Row:
    """``rpt_sendgrid_portfolio``: the totals over the overview rows.

    States count every connection; the other figures count each account once (a duplicate or
    subuser connection, ``is_counted_in_totals`` false, is left out of them).
    """

    def count(rows: list[Row], **match: Any) -> int:
        return sum(1 for o in rows if all(o[k] == v for k, v in match.items()))

    accounts = [o for o in overview if o.get("is_counted_in_totals", True)]
    downgrades = [o for o in accounts if o["recommendation"] == "downgrade"]
    upgrades = [o for o in accounts if o["recommendation"] == "upgrade"]
    return {
        "as_of_at": AS_OF,
        "tenant_count": len(overview),
        "account_count": len(accounts),
        "duplicate_connection_count": sum(1 for o in overview if o.get("duplicate_of_tenant_id")),
        "removed_connection_count": 0,  # the overview has no deleted connection
        "subuser_connection_count": sum(
            1 for o in overview if o.get("subuser_of_tenant_id") and not o["duplicate_of_tenant_id"]
        ),
        "connected_count": count(overview, connection_status="connected"),
        "needs_reconnect_count": count(overview, connection_status="needs_reconnect"),
        "degraded_count": count(overview, connection_status="degraded"),
        "never_synced_count": count(overview, sync_state="never_synced"),
        "failed_sync_count": count(overview, sync_state="failed"),
        "stale_count": count(overview, sync_state="stale"),
        "requests_30d": sum(o["requests_30d"] or 0 for o in accounts),
        "requests_30d_tenant_count": sum(1 for o in accounts if o["requests_30d"] is not None),
        "credits_at_risk_count": count(accounts, utilization_status="at_risk"),
        "credits_overage_count": count(accounts, utilization_status="overage"),
        "credits_unknown_count": count(accounts, utilization_status="unknown"),
        "projected_overage_cost_usd": Decimal("0.00"),
        "features_used": sum(o["features_used"] or 0 for o in accounts),
        "features_licensed": sum(o["features_licensed"] or 0 for o in accounts),
        "features_unused_paid": sum(o["features_unused_paid"] for o in accounts),
        "downgrade_savings_usd": -sum(
            (o["monthly_cost_change_usd"] for o in downgrades), Decimal(0)
        ),
        "downgrade_count": len(downgrades),
        "upgrade_cost_usd": sum((o["monthly_cost_change_usd"] for o in upgrades), Decimal(0)),
        "upgrade_count": len(upgrades),
        "downgrade_savings_unknown_count": 0,  # every fixture change has a known cost
        "upgrade_cost_unknown_count": 0,
        "net_plan_change_usd": sum(
            (o["monthly_cost_change_usd"] for o in (*upgrades, *downgrades)), Decimal(0)
        ),
        "last_successful_sync_at": max(
            h["last_success_at"] for h in health if h["last_success_at"]
        ),
    }


def build_rows() -> dict[str, list[Row]]:
    """Every mart's rows, keyed by model name."""
    rng = random.Random(7)
    activity = activity_rows(rng)
    periods = period_rows(activity)
    seats = seat_rows()
    features = feature_rows(rng)
    recs = recommendation_rows(activity)
    dims, overview = _tenants_and_overview(periods, seats, features, activity, recs)
    health = health_rows()
    return {
        "dim_sendgrid_tenants": dims,
        "fct_sendgrid_plan_utilization": periods,
        "fct_sendgrid_email_activity_daily": activity,
        "fct_sendgrid_seat_utilization": seats,
        "fct_sendgrid_feature_adoption": features,
        "dim_sendgrid_api_keys": key_rows(),
        "fct_sendgrid_suppressions_monthly": suppression_rows(rng),
        "fct_sendgrid_connection_health": health,
        "fct_sendgrid_plan_recommendation": recs,
        "rpt_sendgrid_utilization_overview": overview,
        "rpt_sendgrid_portfolio": [_portfolio(overview, health)],
    }


def load_marts(
    conninfo: str, duplicates: dict[str, str] | None = None, subusers: dict[str, str] | None = None
) -> dict[str, list[Row]]:
    """Create the reporting models in the database and fill them; return their rows as stored.

    ``duplicates``: tenant → the tenant connected first to the same SendGrid account;
    ``subusers``: tenant → the tenant listing it among its subusers.

    The rows are read back (not the Python values inserted): the column types of the contract
    round numerics (``numeric(18, 2)``), and the page must show the mart values.
    """
    from .reporting_fixture import build_reporting

    rows = build_reporting(duplicates, subusers)
    with psycopg.connect(conninfo) as conn:
        create_marts(conn)
        for model, model_rows in rows.items():
            insert(conn, model, model_rows)
        conn.commit()
        return {model: read_mart(conn, model) for model in rows}
