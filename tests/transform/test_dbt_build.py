"""dbt build on a staging data set shaped like the loader's: tests, contracts, figures.

One database and one ``dbt build`` per session (the ``built`` fixture of ``conftest``, the
expensive part); the tests here only read the marts and compare them with the figures computed
from the records that were written. The as-of instant is pinned (``AS_OF``, passed as the var
``sendgrid_as_of`` as the transform DAG does): nothing here depends on today's date. The tests
that run dbt again on that database are in ``test_dbt_reruns``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from decimal import Decimal

import pytest

from tests.marts_math import (
    expected_monthly_cost,
    months_back,
    percentile_cont,
    recommended_plan,
)
from tests.transform.marts_reading import (
    AS_OF,
    AS_OF_DAY,
    BUILD_STATUS,
    MARTS,
    REPORTS,
    query,
    rows,
)


def test_dbt_build_passes_every_test_contract_and_unit_test(built) -> None:
    _, _, results, proc, _, _ = built
    assert proc.returncode == 0, proc.stdout[-6000:]
    failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass", "no-op")]
    assert failed == []
    ids = [r["unique_id"] for r in results]
    assert sum(i.startswith("unit_test.") for i in ids) >= 6
    assert sum(i.startswith("test.") for i in ids) >= 600
    for mart in MARTS + REPORTS:
        assert f"model.sendgrid_utilization.{mart}" in ids


def test_marts_are_typed_tables_in_the_marts_schema_with_enforced_contracts(built) -> None:
    target = built[0]
    rows = query(
        target,
        "select table_name, table_type from information_schema.tables"
        " where table_schema = 'sendgrid_marts'",
    )
    assert {name for name, kind in rows if kind == "BASE TABLE"} == {*MARTS, *REPORTS, BUILD_STATUS}
    untyped = query(
        target,
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'sendgrid_marts' and data_type in ('jsonb', 'json')",
    )
    assert untyped == []
    # contract constraints are in the DDL: the key column is NOT NULL
    nullable = query(
        target,
        "select is_nullable from information_schema.columns where table_schema ="
        " 'sendgrid_marts' and table_name = 'dim_sendgrid_tenants' and column_name = 'tenant_id'",
    )
    assert nullable == [("NO",)]


def test_bi_reader_role_can_read_the_marts(built) -> None:
    target = built[0]
    rows = query(
        target,
        "select has_schema_privilege('sendgrid_bi_reader', 'sendgrid_marts', 'usage'),"
        " has_table_privilege('sendgrid_bi_reader', 'sendgrid_marts.dim_sendgrid_tenants',"
        " 'select'), has_table_privilege('sendgrid_bi_reader',"
        " 'sendgrid_marts.dim_sendgrid_tenants', 'insert')",
    )
    assert rows == [(True, True, False)]
    readable = query(
        target,
        "select count(*) filter (where has_table_privilege('sendgrid_bi_reader',"
        " format('sendgrid_marts.%%I', table_name), 'select')), count(*)"
        " from information_schema.tables where table_schema = 'sendgrid_marts'",
    )
    assert readable == [(len(MARTS + REPORTS) + 1, len(MARTS + REPORTS) + 1)]  # + BUILD_STATUS


def test_figures_reconcile_with_the_records(built) -> None:
    target, truths, *_ = built
    plans = dict(
        query(target, "select tenant_id, plan_code from sendgrid_marts.dim_sendgrid_tenants")
    )
    credits = {
        r[0]: r[1:]
        for r in query(
            target,
            "select tenant_id, credits_total, credits_used, credits_used_pct"
            " from sendgrid_marts.fct_sendgrid_plan_utilization where is_current_period",
        )
    }
    seats = {
        r[0]: r[1:]
        for r in query(
            target,
            "select tenant_id, owner_count, admin_count, teammate_count, pending_invites_valid,"
            " pending_invites_expired, subusers_total, subusers_disabled, subusers_active_30d"
            " from sendgrid_marts.fct_sendgrid_seat_utilization where is_latest_day",
        )
    }
    assert query(
        target,
        "select seat_date, subusers_active_30d, subusers_active_60d, subusers_active_90d"
        " from sendgrid_marts.fct_sendgrid_seat_utilization"
        " where tenant_id = 't01-acme-retail' and is_latest_day",
    ) == [(AS_OF_DAY, 1, 1, 1)]  # ben-02, disabled, sent until 45 days ago: neither active
    # nor inactive (active and inactive split the enabled subusers)
    daily = {
        (t, s, d): r
        for t, s, d, r in query(
            target,
            "select tenant_id, subuser_username, activity_date, requests"
            " from sendgrid_marts.fct_sendgrid_email_activity_daily",
        )
    }
    keys = defaultdict(lambda: [0, 0])
    for tenant, deleted, n in query(
        target,
        "select tenant_id, is_deleted, count(*) from sendgrid_marts.dim_sendgrid_api_keys"
        " where subuser_username = '' group by 1, 2",
    ):
        keys[tenant][int(deleted)] = n
    subusers = {
        t: (n, disabled)
        for t, n, disabled in query(
            target,
            "select tenant_id, count(*), count(*) filter (where is_disabled)"
            " from sendgrid_marts.dim_sendgrid_subusers where not is_deleted group by 1",
        )
    }
    supp = {
        (t, k): n
        for t, k, n in query(
            target,
            "select tenant_id, suppression_kind, max(cumulative_suppressions)"
            " from sendgrid_marts.fct_sendgrid_suppressions_monthly group by 1, 2",
        )
    }
    features = defaultdict(set)
    unlicensed = defaultdict(set)
    for tenant, code, used, licensed in query(
        target,
        "select tenant_id, feature_code, is_used, is_licensed"
        " from sendgrid_marts.fct_sendgrid_feature_adoption",
    ):
        if used:
            features[tenant].add(code)
        if licensed is False:
            unlicensed[tenant].add(code)
    kinds = {"bounces": "bounce", "blocks": "block", "spam_reports": "spam_report",
             "invalid_emails": "invalid_email", "unsubscribes": "unsubscribe"}  # fmt: skip
    for t, truth in truths.items():
        assert plans[t] == truth.plan_code
        total, used, pct = credits[t]
        assert (total, used) == (truth.credits_total, truth.credits_used)
        assert float(pct) == pytest.approx(round(100 * truth.credits_used / truth.credits_total, 2))
        assert seats[t] == (
            truth.roles["owner"], truth.roles["admin"], truth.roles["teammate"],
            truth.pending_valid, truth.pending_expired, truth.subusers_total,
            truth.subusers_disabled, truth.subusers_active_30d,
        )  # fmt: skip
        inventory = (truth.subusers_total, truth.subusers_disabled)
        assert subusers.get(t, (0, 0)) == inventory, t
        # the days up to the as-of day: staging's partial "today" (the extraction's day,
        # /v3/stats read without an end date) is not a day of the mart yet
        days = {k: v for k, v in truth.daily_requests.items() if k[1] <= AS_OF_DAY}
        assert len(days) < len(truth.daily_requests)  # the scenario does hold such a day
        for (sender, day), requests in days.items():
            assert daily[(t, sender, day)] == requests, (t, sender, day)
        assert len([k for k in daily if k[0] == t]) == len(days)
        assert (keys[t][0], keys[t][1]) == (truth.keys_active, truth.keys_deleted)
        for stream, count in truth.suppressions.items():
            assert supp.get((t, kinds[stream]), 0) == count, (t, stream)
        assert features[t] == truth.features_used
        assert unlicensed[t] == truth.not_licensed


def test_a_closed_period_counts_the_sends_after_its_last_reading(built) -> None:
    """t01's previous month was last read on its last day at 00:20, without that day's sends:
    the closed period's credits used are the reading + that day's requests (stats), the
    month's whole volume, not the reading alone."""
    target, truths, *_ = built
    tenant = "t01-acme-retail"
    month_start = AS_OF_DAY.replace(day=1)
    last_day = month_start - dt.timedelta(days=1)
    month: dict[dt.date, int] = defaultdict(int)  # requests per day, all senders
    for (_, day), requests in truths[tenant].daily_requests.items():
        if last_day.replace(day=1) <= day <= last_day:
            month[day] += requests
    ((used, basis, note, reading),) = query(
        target,
        "select p.credits_used, p.projection_basis, p.projection_note, c.credits_used"
        " from sendgrid_marts.fct_sendgrid_plan_utilization as p"
        " inner join sendgrid_dbt_intermediate.int_sendgrid__credit_periods as c"
        " using (tenant_id, period_start_date)"
        " where p.tenant_id = %s and p.is_period_closed",
        [tenant],
    )
    assert month[last_day] > 0
    assert reading == sum(month.values()) - month[last_day]
    assert used == sum(month.values())
    assert basis == "actual"
    assert f"reading ({last_day.isoformat()} 00:20 UTC) + the emails requested" in note


def test_plan_recommendation_follows_the_documented_rule(built) -> None:
    """The plan of least expected monthly cost (price + the overage a p95 month costs on it)
    that holds the seats, subusers, validation and busiest day; a plan without an overage rate
    (Free) must cover the volume with headroom; overage is weighed only against a covering plan
    of known price; a tie keeps the current plan, then goes to the plan covering the volume,
    then the lower tier; Premier (no price) last (``tests.marts_math.recommended_plan``, whose
    tie and unpriced-Premier cases test_recommendation_oracle checks). The cost change counts
    the recommended plan's overage."""
    target, truths, *_ = built
    recs = rows(target, "fct_sendgrid_plan_recommendation")
    columns = (
        "plan_code", "tier_rank", "monthly_emails", "monthly_price_usd", "overage_usd_per_1k",
        "teammate_limit", "daily_emails", "subusers_included", "includes_email_validation",
    )  # fmt: skip
    catalog = [
        dict(zip(columns, r, strict=True))
        for r in query(
            target,
            "select plan_code, tier_rank, monthly_emails, monthly_price_usd, overage_usd_per_1k,"
            " teammate_limit, daily_emails, subusers_included, includes_email_validation"
            " from sendgrid_reference.sendgrid_plan_catalog",
        )
    ]
    seats = dict(
        query(target, "select tenant_id, seats_used from sendgrid_marts.dim_sendgrid_tenants")
    )
    for rec in recs:
        tenant, peak = rec["tenant_id"], rec["peak_monthly_requests"]
        p95 = rec["p95_monthly_requests"]
        truth = truths[tenant]
        monthly, daily = defaultdict(int), defaultdict(int)
        for (_, day), req in truth.daily_requests.items():
            monthly[day.replace(day=1)] += req
            daily[day] += req
        last = max(d for _, d in truth.daily_requests)
        # the busiest day of the window (complete months and the month to date): Free, 100 a day
        peak_day = max(
            v for d, v in daily.items()
            if months_back(last.replace(day=1), 12) <= d <= AS_OF_DAY
        )  # fmt: skip
        window = sorted(
            v for m, v in monthly.items()
            if m < last.replace(day=1) and m >= months_back(last.replace(day=1), 12)
        )  # fmt: skip
        assert peak == max(window)
        assert p95 == int(-(-percentile_cont(window, 0.95) // 1))
        required = max(peak, math.ceil(Decimal(p95) * Decimal("1.2")))
        assert rec["required_monthly_emails"] == required
        current, current_price = rec["current_plan_code"], rec["current_monthly_price_usd"]
        fits = [
            p for p in catalog
            if (p["overage_usd_per_1k"] is not None or p["monthly_emails"] is None
                or p["monthly_emails"] >= required)  # no overage rate: a hard cap
            and p["teammate_limit"] >= seats[tenant]
            and (p["daily_emails"] is None or p["daily_emails"] >= peak_day)
            and (p["subusers_included"] != 0 or truth.subusers_total == 0)  # disabled ones too
            and (p["includes_email_validation"] or "email_validation" not in truth.features_used)
        ]  # fmt: skip
        pick = recommended_plan(fits, p95, required, current, current_price)
        assert rec["recommended_plan_code"] == pick["plan_code"], tenant
        price, over = expected_monthly_cost(pick, p95, current, current_price)
        assert rec["recommended_monthly_overage_usd"] == (over if price is not None else None)
        if current is None or current_price is None:  # unknown plan or custom price: no change
            continue
        (now,) = [p for p in catalog if p["plan_code"] == current]
        cost_now = sum(expected_monthly_cost(now, p95, current, current_price))
        assert rec["current_monthly_cost_usd"] == cost_now
        if pick["plan_code"] == current:
            assert (rec["recommendation"], rec["monthly_cost_change_usd"]) == ("keep", 0)
        elif price is not None:
            assert rec["monthly_cost_change_usd"] == price + over - cost_now, tenant


def test_rpt_models_hold_the_dashboard_figures(built) -> None:
    """The reporting models carry what the dashboard shows, computed from the records."""
    target, truths, *_ = built
    as_of_date = AS_OF_DAY

    overview = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_utilization_overview")}
    (portfolio,) = rows(target, "rpt_sendgrid_portfolio")
    assert portfolio["as_of_at"] == AS_OF
    assert portfolio["tenant_count"] == len(truths) == len(overview)
    assert portfolio["requests_30d"] == sum(o["requests_30d"] for o in overview.values())
    # unknown figures (null: the source stream was not readable) are not summed as zeros
    assert portfolio["features_used"] == sum(o["features_used"] or 0 for o in overview.values())
    order = sorted(overview.values(), key=lambda o: (-o["requests_30d"], o["display_name"]))
    assert [o["display_order"] for o in order] == list(range(1, len(order) + 1))

    volume = defaultdict(lambda: [0, 0])
    for t, truth in truths.items():
        window = [
            v for (_, d), v in truth.daily_requests.items() if 0 <= (as_of_date - d).days < 30
        ]
        assert overview[t]["requests_30d"] == sum(window), t
        assert overview[t]["as_of_at"] == AS_OF
        for (sender, day), req in truth.daily_requests.items():
            if day <= as_of_date:
                volume[(t, day.replace(day=1))][int(sender != "")] += req
    months = rows(target, "rpt_sendgrid_monthly_volume")
    assert {m["activity_month"] for m in months} == {
        months_back(as_of_date.replace(day=1), n) for n in range(12)
    }
    for m in months:
        parent, subusers = volume[(m["tenant_id"], m["activity_month"])]
        assert (m["parent_requests"], m["subuser_requests"]) == (parent, subusers), m
        assert m["is_month_to_date"] == (m["activity_month"] == as_of_date.replace(day=1))

    seats = {
        (r["tenant_id"], r["seat_kind"]): r for r in rows(target, "rpt_sendgrid_seat_activity")
    }
    acme_subusers = seats[("t01-acme-retail", "subuser")]  # ben-02 disabled: never active
    assert (acme_subusers["seats_total"], acme_subusers["seats_active_30d"],
            acme_subusers["seats_active_60d"], acme_subusers["seats_activity_unknown"]) == (
        2, 1, 1, 0)  # fmt: skip
    acme_mates = seats[("t01-acme-retail", "teammate")]
    assert (acme_mates["seats_total"], acme_mates["seats_activity_unknown"]) == (3, 3)
    assert acme_mates["active_30d_share"] is None  # unknown, never a false 0 %
    assert (acme_mates["seats_active_30d"], acme_mates["seats_inactive_90d"]) == (None, None)

    keys = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_api_key_summary")}
    assert (keys["t01-acme-retail"]["active_keys"], keys["t01-acme-retail"]["deleted_keys"]) == (
        3, 1)  # fmt: skip
    # scopes come from GET /v3/api_keys/{id} (the list has none): k1 alone holds them all
    assert (keys["t01-acme-retail"]["full_access_keys"],
            keys["t01-acme-retail"]["unknown_scope_keys"]) == (1, 0)  # fmt: skip
    access = {(r["subuser_username"], r["api_key_id"]): r["has_full_access"]
              for r in rows(target, "dim_sendgrid_api_keys")
              if r["tenant_id"] == "t01-acme-retail"}  # fmt: skip
    assert access == {("", "k1"): True, ("", "k2"): False, ("", "k3"): None,
                      ("acme-ada01", "ks1"): False}  # fmt: skip
    # Cedar's /v3/api_keys was never read (no stream status): unknown, never 0 keys
    assert keys["t03-cedar-free"]["total_keys"] is None

    kinds = {"bounce": "bounces", "block": "blocks", "spam_report": "spam_reports",
             "invalid_email": "invalid_emails", "unsubscribe": "unsubscribes"}  # fmt: skip
    for r in rows(target, "rpt_sendgrid_suppressions_monthly"):
        if r["is_as_of_month"]:
            assert r["cumulative_suppressions"] == truths[r["tenant_id"]].suppressions[
                kinds[r["suppression_kind"]]]  # fmt: skip

    used = defaultdict(set)
    for r in rows(target, "rpt_sendgrid_features"):
        if r["feature_state"] == "used":
            used[r["tenant_id"]].add(r["feature_code"])
        if (r["tenant_id"], r["feature_code"]) == ("t01-acme-retail", "single_sends_90d"):
            assert (r["usage_count"], r["emails_90d"]) == (1, 500)
    assert {t: used[t] for t in truths} == {t: truth.features_used for t, truth in truths.items()}

    health = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_tenant_health")}
    assert {t: h["sync_state"] for t, h in health.items()} == {
        "t01-acme-retail": "synced",
        "t02-bluebird-bakery": "synced",
        "t03-cedar-free": "stale",
    }
    assert health["t03-cedar-free"]["needs_reconnect"]
    assert health["t01-acme-retail"]["granted_scope_count"] == 3

    for rec in rows(target, "rpt_sendgrid_plan_recommendation"):
        change, text = rec["monthly_cost_change_usd"], rec["recommendation_text"]
        if change is not None and change > 0:
            assert f"+${change:,.2f}/month" in text, text
        elif change is not None and change < 0:
            assert f"saves ${-change:,.2f}/month" in text, text
        assert overview[rec["tenant_id"]]["monthly_cost_change_usd"] == change

    rates = rows(target, "rpt_sendgrid_deliverability_daily")
    assert {r["tenant_id"] for r in rates} == set(truths)
    assert all(0 <= (as_of_date - r["activity_date"]).days < 90 for r in rates)
    assert {r["sender_type"] for r in rates if r["tenant_id"] == "t01-acme-retail"} == {"parent"}

    periods = rows(target, "rpt_sendgrid_credit_periods")
    assert all(p["recency_rank"] <= 12 for p in periods)
    (weeks_latest,) = [w for w in rows(target, "rpt_sendgrid_seat_weeks")
                       if w["tenant_id"] == "t01-acme-retail" and w["is_latest_day"]]  # fmt: skip
    assert weeks_latest["seat_date"] == as_of_date
