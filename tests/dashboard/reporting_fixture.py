"""The reporting models (``rpt_sendgrid_*``) of the fixture warehouse, from the fixture marts.

``marts_fixture`` generates the marts' rows (four tenants with data); this module derives the
rows of each reporting model the way its dbt SQL does (windows ending on the as-of day, the
busiest sender, weekly seat samples...) and adds ``newco``, an organization whose first sync
has not happened yet (no figures, ``no_data`` recommendation). Only these tables are created
in the test database: a dashboard reading anything else fails.

The models restating one mart each are built in ``reporting_rows``.
"""

from __future__ import annotations

from decimal import Decimal

from sendgrid_hook.display import plural

from .marts_fixture import _portfolio, build_rows
from .marts_schema import AS_OF, Row
from .reporting_rows import (
    credit_period_rows,
    deliverability_rows,
    feature_rows,
    flagged_key_rows,
    key_summary_rows,
    monthly_volume_rows,
    seat_activity_rows,
    seat_week_rows,
    suppression_rows,
    usage_history_rows,
)

NEW_TENANT = "newco"
NEW_STATUS_TEXT = "not synced yet: no figures until the first successful extraction"
NO_DATA_TEXT = "no recommendation until the first successful sync"


def _degraded_text(h: Row) -> str:
    """rpt_sendgrid_tenant_health's sentence for a degraded tenant (what degraded it)."""
    missing, errors = h["missing_scope_stream_count"], h["error_stream_count"]
    reason = h["status_reason"] or ""
    parts = [
        f"{missing} {plural('stream', missing)} unreadable for missing scopes" if missing else "",
        f"the key lacks {h['missing_scopes'] or 'scopes'}"
        if not missing and "missing_scopes" in reason
        else "",
        f"{errors} {plural('stream', errors)} in error" if errors else "",
        "subusers refused by SendGrid, missing from the totals"
        if "units_skipped" in reason
        else "",
        "most of a list missing at once: its deletion waits for the next run to agree"
        if "deletions_held" in reason
        else "",
        "records rejected (kept in sendgrid_staging.rejects)"
        if "records_rejected" in reason
        else "",
        "the last run failed before reading its streams" if "run_failed" in reason else "",
    ]
    return "connected, " + ("; ".join(p for p in parts if p) or "with problems in the last run")


def _health(health: list[Row]) -> list[Row]:
    rows = []
    for h in health:
        status = h["connection_status"]
        text = {
            "needs_reconnect": "SendGrid rejects the credential: figures are frozen at the last "
            f"successful sync, {round(h['data_age_hours'])} hours old",
            "degraded": _degraded_text(h),
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
                "as_of_at": AS_OF,
            }
        )
    return rows


def _new_tenant(overview: list[Row], health: list[Row], recs: list[Row]) -> None:
    """``newco``: connected, never synced: no figures, no recommendation. What no stream could
    be read for (volume, features) is unknown (null), as the models say, never 0."""
    zero_cols = (
        "seats_used",
        "pending_invites_valid",
        "subusers_total",
        "subusers_active_30d",
        "subusers_active_60d",
        "subusers_active_90d",
        "subusers_inactive_30d",
        "subusers_inactive_90d",
        "features_unused_paid",
        "features_not_licensed",
        "features_unknown",
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
        as_of_at=AS_OF,
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
            "feature_scope_stream_count": 0,
            "not_licensed_stream_count": 0,
            "error_stream_count": 0,
            "status_text": NEW_STATUS_TEXT,
            "as_of_at": AS_OF,
        }
    )
    recs.append(
        {k: None for k in recs[0]}
        | {
            "tenant_id": NEW_TENANT,
            "is_contract_price": False,
            "recommendation": "no_data",
            "recommendation_text": NO_DATA_TEXT,
            "seats_used": 0,
            "enabled_subusers": 0,
            "dedicated_ips": 0,
            "as_of_at": AS_OF,
        }
    )


def _counted_under(
    overview: list[Row], recs: list[Row], duplicates: dict[str, str], subusers: dict[str, str]
) -> None:
    """Name the tenant that counts each duplicate or subuser connection (in place)."""
    names = {o["tenant_id"]: o["display_name"] for o in overview}
    for o in overview:
        first, parent = duplicates.get(o["tenant_id"]), subusers.get(o["tenant_id"])
        o["duplicate_of_tenant_id"] = first
        o["duplicate_of_display_name"] = names[first] if first else None
        o["subuser_of_tenant_id"] = parent
        o["subuser_of_display_name"] = names[parent] if parent else None
        o["is_counted_in_totals"] = not (first or parent)
    for rows in (overview, recs):
        for r in rows:
            if r["tenant_id"] in subusers:
                r.update(
                    recommendation="no_data",
                    recommendation_text=f"no recommendation: a subuser of "
                    f"{subusers[r['tenant_id']]}, on its plan (see its recommendation)",
                    recommended_plan_code=None,
                    recommended_plan_name=None,
                    monthly_cost_change_usd=None,
                )


def build_reporting(
    duplicates: dict[str, str] | None = None, subusers: dict[str, str] | None = None
) -> dict[str, list[Row]]:
    """Every reporting model's rows, keyed by model name.

    ``duplicates`` (tenant → tenant connected first) marks connections that reach an account
    already connected, ``subusers`` (tenant → parent tenant) connections to a subuser of
    another tenant, as ``int_sendgrid__account_identities`` finds them: the portfolio and the
    overage alerts leave them out, and a subuser gets no recommendation of its own.
    """
    marts = build_rows()
    periods = credit_period_rows(marts["fct_sendgrid_plan_utilization"])
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
    # biggest senders first, unknown volumes (null) last, as the model orders them
    ordered = sorted(
        overview,
        key=lambda o: (o["requests_30d"] is None, -(o["requests_30d"] or 0), o["display_name"]),
    )
    for i, o in enumerate(ordered, start=1):
        o["display_order"] = i
    _counted_under(overview, recs, duplicates or {}, subusers or {})
    counted = {o["tenant_id"] for o in overview if o["is_counted_in_totals"]}
    overage = [f for f in overage if f["tenant_id"] in counted]  # one alert per account
    portfolio = _portfolio(overview, health)
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
        "rpt_sendgrid_usage_history": usage_history_rows(periods),
        "rpt_sendgrid_monthly_volume": monthly_volume_rows(
            marts["fct_sendgrid_email_activity_daily"]
        ),
        "rpt_sendgrid_deliverability_daily": deliverability_rows(
            marts["fct_sendgrid_email_activity_daily"]
        ),
        "rpt_sendgrid_seat_weeks": seat_week_rows(marts["fct_sendgrid_seat_utilization"]),
        "rpt_sendgrid_seat_activity": seat_activity_rows(),
        "rpt_sendgrid_features": feature_rows(marts["fct_sendgrid_feature_adoption"]),
        "rpt_sendgrid_api_key_summary": key_summary_rows(keys),
        "rpt_sendgrid_api_keys_flagged": flagged_key_rows(keys),
        "rpt_sendgrid_suppressions_monthly": suppression_rows(
            marts["fct_sendgrid_suppressions_monthly"]
        ),
        "rpt_sendgrid_plan_recommendation": recs,
    }
