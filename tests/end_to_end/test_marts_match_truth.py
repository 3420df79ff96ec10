"""Simulator → extract DAG → transform DAG: every headline mart figure equals the ground truth.

The simulator knows what it served (``truth``); the marts must say the same after both DAGs
ran for real. Figures: credits and % used, monthly requests, teammates by role, pending
invites, subusers, API keys, suppressions, features in use, and the recommended plan.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from .conftest import TENANTS, PipelineRun, query

pytestmark = pytest.mark.slow

SUPPRESSION_KINDS = {
    "bounces": "bounce",
    "blocks": "block",
    "spam_reports": "spam_report",
    "invalid_emails": "invalid_email",
    "unsubscribes": "unsubscribe",
}


def test_both_dags_succeed(pipeline: PipelineRun) -> None:
    assert pipeline.extract_state == "success"
    assert pipeline.transform_state == "success"


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_credits_and_plan_utilization(pipeline: PipelineRun, conn_id: str) -> None:
    credits = pipeline.tenant_truth(conn_id)["aggregates"]["credits"]
    (tenant,) = query(
        pipeline.target,
        "select * from sendgrid_marts.dim_sendgrid_tenants where tenant_id = %s",
        conn_id,
    )
    assert (tenant["credits_total"], tenant["credits_used"]) == (credits["total"], credits["used"])
    assert tenant["credits_reset_frequency"] == credits["reset_frequency"]
    (period,) = query(
        pipeline.target,
        "select * from sendgrid_marts.fct_sendgrid_plan_utilization "
        "where tenant_id = %s and is_current_period",
        conn_id,
    )
    assert period["credits_used"] == credits["used"]
    assert period["credits_remain"] == credits["remain"]
    assert period["credits_overage"] == credits["overage"]
    assert period["period_start_date"] == dt.date.fromisoformat(credits["last_reset"])
    expected_pct = Decimal(credits["used"] * 100) / Decimal(credits["total"])
    assert abs(period["credits_used_pct"] - expected_pct) < Decimal("0.01")


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_monthly_requests_per_sender(pipeline: PipelineRun, conn_id: str) -> None:
    truth = pipeline.tenant_truth(conn_id)
    rows = query(
        pipeline.target,
        "select coalesce(subuser_username, '') as sender, "
        "to_char(activity_date, 'YYYY-MM') as month, sum(requests) as requests "
        "from sendgrid_marts.fct_sendgrid_email_activity_daily where tenant_id = %s "
        "group by 1, 2",
        conn_id,
    )
    mart = {(r["sender"], r["month"]): r["requests"] for r in rows}
    expected = {("", m): v for m, v in truth["aggregates"]["requests_by_month"].items()}
    for name, sub in truth["subusers"].items():
        expected |= {(name, m): v for m, v in sub["requests_by_month"].items()}
    # Months the pipeline covered completely (the first stats month may start mid-month).
    covered = {key for key in expected if key in mart}
    assert len({m for _, m in covered}) >= 12
    first = min(m for _, m in covered)
    for key in covered:
        if key[1] != first:
            assert mart[key] == expected[key], key


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_seats_and_subusers(pipeline: PipelineRun, conn_id: str) -> None:
    agg = pipeline.tenant_truth(conn_id)["aggregates"]
    (seat,) = query(
        pipeline.target,
        "select * from sendgrid_marts.fct_sendgrid_seat_utilization "
        "where tenant_id = %s and is_latest_day",
        conn_id,
    )
    roles = agg["teammates_by_role"]
    assert (seat["owner_count"], seat["admin_count"], seat["teammate_count"]) == (
        roles["owner"],
        roles["admin"],
        roles["teammate"],
    )
    invites = agg["pending_invites"]
    assert seat["pending_invites_valid"] == invites["valid"]
    assert seat["pending_invites_expired"] == invites["expired"]
    subs = agg["subusers"]
    assert seat["subusers_total"] == subs["total"]
    assert seat["subusers_disabled"] == subs["disabled"]
    assert seat["subusers_total"] - seat["subusers_disabled"] == subs["active"]
    assert seat["subusers_inactive_30d"] == subs["inactive_30d"]


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_api_keys(pipeline: PipelineRun, conn_id: str) -> None:
    truth = pipeline.tenant_truth(conn_id)
    (row,) = query(
        pipeline.target,
        "select count(*) filter (where not is_deleted) as active, "
        "count(*) filter (where is_deleted) as deleted from sendgrid_marts.dim_sendgrid_api_keys "
        "where tenant_id = %s and coalesce(subuser_username, '') = ''",
        conn_id,
    )
    assert row == {"active": truth["aggregates"]["api_keys"], "deleted": 0}


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_suppressions(pipeline: PipelineRun, conn_id: str) -> None:
    truth = pipeline.tenant_truth(conn_id)
    rows = query(
        pipeline.target,
        "select suppression_kind, sum(new_suppressions) as total, "
        "max(cumulative_suppressions) as cumulative "
        "from sendgrid_marts.fct_sendgrid_suppressions_monthly where tenant_id = %s group by 1",
        conn_id,
    )
    mart = {r["suppression_kind"]: (r["total"], r["cumulative"]) for r in rows}
    for stream, kind in SUPPRESSION_KINDS.items():
        expected = truth["aggregates"]["suppressions"][stream] + sum(
            sub["suppressions"][stream] for sub in truth["subusers"].values()
        )
        assert mart.get(kind, (0, 0)) == (expected, expected), kind


FEATURE_TRUTH = {
    "subusers": lambda f: f["subusers"] > 0,
    "dedicated_ips": lambda f: f["dedicated_ips"] > 0,
    "ip_pools": lambda f: f["ip_pools"] > 0,
    "link_branding": lambda f: f["link_branding"] > 0,
    "dynamic_templates": lambda f: f["dynamic_templates"] > 0,
    "legacy_templates": lambda f: f["legacy_templates"] > 0,
    "single_sends_90d": lambda f: f["single_sends_last_90_days"] > 0,
    "event_webhooks": lambda f: f["event_webhooks"]["enabled"] > 0,
    "inbound_parse": lambda f: f["inbound_parse"] > 0,
    "alerts": lambda f: f["alerts"] > 0,
    "categories": lambda f: f["categories"] > 0,
}


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_features_in_use(pipeline: PipelineRun, conn_id: str) -> None:
    features = pipeline.tenant_truth(conn_id)["aggregates"]["features"]
    rows = query(
        pipeline.target,
        "select feature_code, is_used from sendgrid_marts.fct_sendgrid_feature_adoption "
        "where tenant_id = %s",
        conn_id,
    )
    used = {r["feature_code"]: r["is_used"] for r in rows}
    for code, in_use in FEATURE_TRUTH.items():
        assert used.get(code, False) is in_use(features), code


def _percentile_cont(values: list[int], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_recommended_plan_is_the_cheapest_that_fits(pipeline: PipelineRun, conn_id: str) -> None:
    """Recompute from the truth: the 12 complete months before the latest stats month,
    required = max(peak, p95 × 1.2), cheapest catalog plan covering it, the seats, the
    enabled subusers and the dedicated IPs (dbt vars sendgrid_plan_headroom / _months)."""
    truth = pipeline.tenant_truth(conn_id)
    monthly: dict[str, int] = dict(truth["aggregates"]["requests_by_month"])
    for sub in truth["subusers"].values():
        for month, value in sub["requests_by_month"].items():
            monthly[month] = monthly.get(month, 0) + value
    latest = max(monthly)
    complete = [v for m, v in sorted(monthly.items()) if m < latest][-12:]
    peak, p95 = max(complete), math.ceil(_percentile_cont(complete, 0.95))
    required = math.ceil(max(Decimal(peak), Decimal(p95) * Decimal("1.2")))
    (rec,) = query(
        pipeline.target,
        "select * from sendgrid_marts.fct_sendgrid_plan_recommendation where tenant_id = %s",
        conn_id,
    )
    assert (rec["peak_monthly_requests"], rec["p95_monthly_requests"]) == (peak, p95)
    assert rec["required_monthly_emails"] == required
    plans = query(pipeline.target, "select * from sendgrid_reference.sendgrid_plan_catalog")
    fitting = [
        p
        for p in plans
        if (p["monthly_emails"] is None or p["monthly_emails"] >= required)
        and p["teammate_limit"] is not None
        and rec["seats_used"] <= p["teammate_limit"]
        and (p["subusers_included"] is None or p["subusers_included"] >= rec["enabled_subusers"])
        and (rec["dedicated_ips"] == 0 or (p["dedicated_ips_included"] or 1) >= 1)
    ]
    cheapest = min(
        fitting,
        key=lambda p: (p["monthly_price_usd"] is None, p["monthly_price_usd"] or 0, p["tier_rank"]),
    )
    assert rec["recommended_plan_code"] == cheapest["plan_code"]
