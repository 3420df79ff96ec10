"""Simulator → extract DAG → transform: every headline mart figure equals the ground truth.

The simulator knows what it served (``truth``, computed at its instant ``as_of``); the marts,
built at the as-of instant the extract run's data interval ended at (the same instant), must
say the same. The checks run at three as-of dates: the pinned base clock and the clock moved
40 days back and forward (``pipeline_at``). Figures: credits and % used, monthly requests,
30-day volume, teammates by role, pending invites, subusers, API keys, suppressions,
features in use, and the recommended plan, in the marts and in the rpt_ models.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from tests.marts_math import expected_monthly_cost, percentile_cont, recommended_plan

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


def test_every_run_is_built_at_the_simulators_instant(pipeline_at: PipelineRun) -> None:
    """The extract run's data interval ends at the simulator's now; it is recorded in the
    staging data and the asset extra, and every rpt_ model is measured at it."""
    assert (pipeline_at.extract_state, pipeline_at.transform_state) == ("success", "success")
    assert pipeline_at.truth["as_of"] == pipeline_at.as_of.isoformat().replace("+00:00", "Z")
    (run,) = query(pipeline_at.target, "select as_of from sendgrid_staging.extract_runs")
    assert run["as_of"] == pipeline_at.as_of
    for table in ("rpt_sendgrid_portfolio", "rpt_sendgrid_utilization_overview",
                  "fct_sendgrid_connection_health"):  # fmt: skip
        statement = "select distinct as_of_at from sendgrid_marts." + table  # noqa: S608
        assert query(pipeline_at.target, statement) == [{"as_of_at": pipeline_at.as_of}], table


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_credits_and_plan_utilization(pipeline_at: PipelineRun, conn_id: str) -> None:
    pipeline = pipeline_at
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
def test_monthly_requests_per_sender(pipeline_at: PipelineRun, conn_id: str) -> None:
    pipeline = pipeline_at
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
def test_seats_and_subusers(pipeline_at: PipelineRun, conn_id: str) -> None:
    pipeline = pipeline_at
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
    inventory = query(
        pipeline.target,
        "select subuser_username, subuser_id, is_disabled from sendgrid_marts.dim_sendgrid_subusers"
        " where tenant_id = %s and not is_deleted",
        conn_id,
    )
    assert {r["subuser_username"]: (r["subuser_id"], r["is_disabled"]) for r in inventory} == {
        name: (sub["user_id"], sub["disabled"])
        for name, sub in pipeline.tenant_truth(conn_id)["subusers"].items()
    }


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_api_keys(pipeline_at: PipelineRun, conn_id: str) -> None:
    pipeline = pipeline_at
    truth = pipeline.tenant_truth(conn_id)
    (row,) = query(
        pipeline.target,
        "select count(*) filter (where not is_deleted) as active, "
        "count(*) filter (where is_deleted) as deleted, "
        "count(*) filter (where not is_deleted and has_full_access) as full_access, "
        "count(*) filter (where not is_deleted and has_full_access is null) as unknown_scopes "
        "from sendgrid_marts.dim_sendgrid_api_keys "
        "where tenant_id = %s and coalesce(subuser_username, '') = ''",
        conn_id,
    )
    aggregates = truth["aggregates"]
    # scopes are read per key (GET /v3/api_keys/{id}): every key's access is known
    expected_full = aggregates["api_keys_full_access"]
    assert row == {"active": aggregates["api_keys"], "deleted": 0,
                   "full_access": expected_full, "unknown_scopes": 0}  # fmt: skip
    assert aggregates["api_keys_full_access"] >= 1  # the tenant's own Full Access key


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_suppressions(pipeline_at: PipelineRun, conn_id: str) -> None:
    pipeline = pipeline_at
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
def test_features_in_use(pipeline_at: PipelineRun, conn_id: str) -> None:
    pipeline = pipeline_at
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


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_recommended_plan_is_the_cheapest_that_fits(pipeline_at: PipelineRun, conn_id: str) -> None:
    pipeline = pipeline_at
    """Recompute from the truth: the 12 complete months before the latest stats month,
    required = max(peak, p95 × 1.2); the catalog plan of least expected monthly cost (price +
    the overage a p95 month costs at its rate; the current plan, the simulator's tier, at the
    tenant's price) holding the busiest day (Free: 100 a day), the seats, the enabled subusers,
    any subuser at all, the dedicated IPs and Email Address Validation when used; a plan
    without an overage rate (Free) must cover the required volume; overage is weighed only
    against a covering plan of known price; a tie keeps the current plan, then goes to the plan
    covering it, then the lower tier; Premier (no price) last (``tests.marts_math``'s oracle;
    dbt vars sendgrid_plan_headroom / _months)."""
    truth = pipeline.tenant_truth(conn_id)
    monthly: dict[str, int] = dict(truth["aggregates"]["requests_by_month"])
    for sub in truth["subusers"].values():
        for month, value in sub["requests_by_month"].items():
            monthly[month] = monthly.get(month, 0) + value
    latest = max(monthly)
    complete = [v for m, v in sorted(monthly.items()) if m < latest][-12:]
    peak, p95 = max(complete), math.ceil(percentile_cont(complete, 0.95))
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
        # a plan without an overage rate (Free) is a hard cap: it must cover the volume
        if (
            p["overage_usd_per_1k"] is not None
            or p["monthly_emails"] is None
            or p["monthly_emails"] >= required
        )
        and p["teammate_limit"] is not None
        and rec["seats_used"] <= p["teammate_limit"]
        and (p["subusers_included"] is None or p["subusers_included"] >= rec["enabled_subusers"])
        and (rec["subusers"] == 0 or p["subusers_included"] is None or p["subusers_included"] > 0)
        and (rec["dedicated_ips"] == 0 or (p["dedicated_ips_included"] or 1) >= 1)
        and (p["daily_emails"] is None or p["daily_emails"] >= rec["peak_daily_requests"])
        and (not rec["uses_email_validation"] or p["includes_email_validation"])
    ]
    assert rec["subusers"] == truth["aggregates"]["subusers"]["total"]
    assert rec["peak_daily_requests"] >= math.ceil(max(complete) / 31)
    # the current plan from the simulator's tier (its credits), at the tenant's price
    credits = truth["aggregates"]["credits"]["total"]
    (current,) = [
        p
        for p in plans
        if p["plan_family"] == truth["plan"]
        and (truth["plan"] == "free" or p["monthly_emails"] in (None, credits))
    ]
    assert rec["current_plan_code"] == current["plan_code"]
    price_now = rec["current_monthly_price_usd"]

    code = current["plan_code"]
    cheapest = recommended_plan(fitting, p95, required, code, price_now)
    assert rec["recommended_plan_code"] == cheapest["plan_code"]
    price, over = expected_monthly_cost(cheapest, p95, code, price_now)
    cost_now = None
    if price_now is not None:  # Premier without a contract: what it costs now is unknown
        cost_now = sum(expected_monthly_cost(current, p95, code, price_now))
    assert rec["current_monthly_cost_usd"] == cost_now
    assert rec["recommended_monthly_overage_usd"] == (over if price is not None else None)
    if cheapest is current:
        assert (rec["recommendation"], rec["monthly_cost_change_usd"]) == ("keep", 0)
    else:
        expected_change = price + over - cost_now if None not in (price, cost_now) else None
        assert rec["monthly_cost_change_usd"] == expected_change


@pytest.mark.parametrize("conn_id", sorted(TENANTS))
def test_reporting_models_match_the_truth(pipeline_at: PipelineRun, conn_id: str) -> None:
    """The rpt_ models the dashboard reads hold the same figures as the truth."""
    truth = pipeline_at.tenant_truth(conn_id)
    agg = truth["aggregates"]
    (overview,) = query(
        pipeline_at.target,
        "select * from sendgrid_marts.rpt_sendgrid_utilization_overview where tenant_id = %s",
        conn_id,
    )
    requests_30d = agg["requests_last_30_days"] + sum(
        sub["requests_last_30_days"] for sub in truth["subusers"].values()
    )
    assert overview["requests_30d"] == requests_30d
    assert (overview["sync_state"], overview["has_data"]) == ("synced", True)
    assert overview["subusers_total"] == agg["subusers"]["total"]
    assert overview["subusers_inactive_30d"] == agg["subusers"]["inactive_30d"]
    assert overview["pending_invites_valid"] == agg["pending_invites"]["valid"]
    assert overview["credits_used"] == agg["credits"]["used"]
    assert overview["recommendation"] in ("keep", "upgrade", "downgrade")
    (health,) = query(
        pipeline_at.target,
        "select * from sendgrid_marts.rpt_sendgrid_tenant_health where tenant_id = %s",
        conn_id,
    )
    assert health["data_age_hours"] >= 0
    assert health["granted_scope_count"] == truth["streams"]["scopes"]["count"]
    months = {
        r["activity_month"].strftime("%Y-%m"): r
        for r in query(
            pipeline_at.target,
            "select * from sendgrid_marts.rpt_sendgrid_monthly_volume where tenant_id = %s",
            conn_id,
        )
    }
    assert len(months) == 12
    assert max(months) == pipeline_at.as_of.strftime("%Y-%m")
    for month, row in months.items():
        if month != min(months):  # the first month of the extraction window may be partial
            assert row["parent_requests"] == agg["requests_by_month"][month], month
            assert row["subuser_requests"] == sum(
                sub["requests_by_month"][month] for sub in truth["subusers"].values()
            ), month
    supp = {
        r["suppression_kind"]: r["cumulative_suppressions"]
        for r in query(
            pipeline_at.target,
            "select * from sendgrid_marts.rpt_sendgrid_suppressions_monthly"
            " where tenant_id = %s and is_as_of_month",
            conn_id,
        )
    }
    for stream, kind in SUPPRESSION_KINDS.items():
        expected = agg["suppressions"][stream] + sum(
            sub["suppressions"][stream] for sub in truth["subusers"].values()
        )
        assert supp.get(kind, 0) == expected, kind
