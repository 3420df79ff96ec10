"""dbt build on a staging data set shaped like the loader's: tests, contracts, figures, increments.

One database and one ``dbt build`` per module (the expensive part); the tests then read the
marts and compare them with the figures computed from the records that were written. The
as-of instant is pinned (``AS_OF``, passed as the var ``sendgrid_as_of`` as the transform DAG
does): nothing here depends on today's date.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from tests.marts_math import months_back, percentile_cont
from tests.scratch_db import scratch_database
from tests.transform.dbt_runner import as_of_vars, run_dbt
from tests.transform.marts_reading import (
    AS_OF,
    EXTRACTED_AT,
    MARTS,
    REPORTS,
    query,
    rows,
    table_digest,
)
from tests.transform.staging_data import build_scenario, create_staging, metrics


@pytest.fixture(scope="module")
def built(postgres_server, tmp_path_factory):
    """A database with the scenario loaded and built once; yields (target, truths, results)."""
    work = tmp_path_factory.mktemp("dbt")
    with scratch_database(postgres_server, "test_dbt") as target:
        create_staging(target)
        staging, truths = build_scenario(EXTRACTED_AT)
        staging.write(target)
        proc, results = run_dbt(target, work, "build", *as_of_vars(AS_OF), check=False)
        yield target, truths, results, proc, work, staging


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
    assert {name for name, kind in rows if kind == "BASE TABLE"} == set(MARTS + REPORTS)
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
    assert readable == [(len(MARTS + REPORTS), len(MARTS + REPORTS))]


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
    ) == [(AS_OF.date(), 1, 2, 2)]  # ben-02 sent until 45 days ago: active in 60 and 90 days
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
        for (sender, day), requests in truth.daily_requests.items():
            assert daily[(t, sender, day)] == requests, (t, sender, day)
        assert len([k for k in daily if k[0] == t]) == len(truth.daily_requests)
        assert (keys[t][0], keys[t][1]) == (truth.keys_active, truth.keys_deleted)
        for stream, count in truth.suppressions.items():
            assert supp.get((t, kinds[stream]), 0) == count, (t, stream)
        assert features[t] == truth.features_used
        assert unlicensed[t] == truth.not_licensed


def test_plan_recommendation_follows_the_documented_rule(built) -> None:
    target, truths, *_ = built
    rows = query(
        target,
        "select tenant_id, peak_monthly_requests, p95_monthly_requests,"
        " required_monthly_emails, recommended_plan_code"
        " from sendgrid_marts.fct_sendgrid_plan_recommendation",
    )
    catalog = query(
        target,
        "select plan_code, monthly_emails, monthly_price_usd, teammate_limit"
        " from sendgrid_reference.sendgrid_plan_catalog",
    )
    seats = dict(
        query(target, "select tenant_id, seats_used from sendgrid_marts.dim_sendgrid_tenants")
    )
    for tenant, peak, p95, required, plan in rows:
        truth = truths[tenant]
        monthly = defaultdict(int)
        for (_, day), req in truth.daily_requests.items():
            monthly[day.replace(day=1)] += req
        last = max(d for _, d in truth.daily_requests)
        window = sorted(
            v for m, v in monthly.items()
            if m < last.replace(day=1) and m >= months_back(last.replace(day=1), 12)
        )  # fmt: skip
        assert peak == max(window)
        assert p95 == int(-(-percentile_cont(window, 0.95) // 1))
        assert required == max(peak, math.ceil(Decimal(p95) * Decimal("1.2")))
        fits = [
            (price if price is not None else 10**9, code)
            for code, emails, price, limit in catalog
            if (emails is None or emails >= required) and limit >= seats[tenant]
        ]
        assert plan == min(fits)[1]


def test_rpt_models_hold_the_dashboard_figures(built) -> None:
    """The reporting models carry what the dashboard shows, computed from the records."""
    target, truths, *_ = built
    as_of_date = AS_OF.date()

    overview = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_utilization_overview")}
    (portfolio,) = rows(target, "rpt_sendgrid_portfolio")
    assert portfolio["as_of_at"] == AS_OF
    assert portfolio["tenant_count"] == len(truths) == len(overview)
    assert portfolio["requests_30d"] == sum(o["requests_30d"] for o in overview.values())
    assert portfolio["features_used"] == sum(o["features_used"] for o in overview.values())
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
    acme_subusers = seats[("t01-acme-retail", "subuser")]
    assert (acme_subusers["seats_total"], acme_subusers["seats_active_30d"],
            acme_subusers["seats_active_60d"], acme_subusers["seats_activity_unknown"]) == (
        2, 1, 2, 0)  # fmt: skip
    acme_mates = seats[("t01-acme-retail", "teammate")]
    assert (acme_mates["seats_total"], acme_mates["seats_activity_unknown"]) == (3, 3)
    assert acme_mates["active_30d_share"] is None  # unknown, never a false 0 %

    keys = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_api_key_summary")}
    assert (keys["t01-acme-retail"]["active_keys"], keys["t01-acme-retail"]["deleted_keys"]) == (
        3, 1)  # fmt: skip
    assert keys["t03-cedar-free"]["total_keys"] == 0

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


def test_rebuild_with_the_same_staging_and_as_of_gives_identical_marts(built) -> None:
    """Same staging + same as-of = the same content in every mart and report (run twice)."""
    target, _, _, _, work, _ = built
    before = {table: table_digest(target, table) for table in MARTS + REPORTS}
    _, results = run_dbt(target, work, "build", *as_of_vars(AS_OF))
    assert {r["status"] for r in results} <= {"success", "pass", "no-op"}
    after = {table: table_digest(target, table) for table in MARTS + REPORTS}
    assert after == before


def test_without_the_var_the_as_of_comes_from_the_staging_data(built) -> None:
    """A developer's `dbt build` without --vars: the latest extract run's as-of, else the
    loader's latest check; never the wall clock. A malformed var is a clear compile error."""
    target, _, _, _, work, staging = built
    select = ("--select", "rpt_sendgrid_portfolio")
    recorded = AS_OF - dt.timedelta(days=3)
    with psycopg.connect(target.conninfo()) as conn:
        conn.execute(
            "insert into sendgrid_staging.extract_runs (run_id, as_of, published_at)"
            " values ('scheduled__x', %s, %s)",
            [recorded, staging.now],
        )
    try:
        run_dbt(target, work, "run", *select)
        assert query(target, "select as_of_at from sendgrid_marts.rpt_sendgrid_portfolio") == [
            (recorded,)
        ]
    finally:
        with psycopg.connect(target.conninfo()) as conn:
            conn.execute("delete from sendgrid_staging.extract_runs")
    run_dbt(target, work, "run", *select)
    assert query(target, "select as_of_at from sendgrid_marts.rpt_sendgrid_portfolio") == [
        (staging.now,)  # the loader's latest check of a stream or connection
    ]
    proc, _ = run_dbt(target, work, "run", *select, *as_of_vars("yesterday"), check=False)
    assert proc.returncode != 0
    assert "sendgrid_as_of must be an ISO-8601 timestamp" in proc.stdout
    run_dbt(target, work, "run", *select, *as_of_vars(AS_OF))
    assert query(target, "select as_of_at from sendgrid_marts.rpt_sendgrid_portfolio") == [(AS_OF,)]


def test_history_keeps_one_snapshot_per_tenant_period_and_as_of(built) -> None:
    """Each run adds its as-of snapshot; rebuilding an as-of replaces it (no duplicates)."""
    target, truths, _, _, work, _ = built
    select = ("--select", "fct_sendgrid_plan_utilization+", "--exclude", "rpt_sendgrid_portfolio")
    for as_of in (AS_OF + dt.timedelta(hours=12), AS_OF):
        run_dbt(target, work, "run", *select, *as_of_vars(as_of))
    history = query(
        target,
        "select tenant_id, period_start_date, count(*), min(as_of_at), max(as_of_at)"
        " from sendgrid_marts.fct_sendgrid_plan_utilization_history group by 1, 2",
    )
    assert {h[0] for h in history} == set(truths)
    assert all(h[2:] == (2, AS_OF, AS_OF + dt.timedelta(hours=12)) for h in history), history
    usage = (
        "select tenant_id, snapshot_count, last_as_of_at"
        " from sendgrid_marts.rpt_sendgrid_usage_history"
    )
    # the report shows the snapshots up to its own as-of instant
    assert sorted(query(target, usage)) == sorted((t, 1, AS_OF) for t in truths)
    later = AS_OF + dt.timedelta(hours=12)
    run_dbt(target, work, "run", "--select", "rpt_sendgrid_usage_history", *as_of_vars(later))
    assert sorted(query(target, usage)) == sorted((t, 2, later) for t in truths)
    run_dbt(target, work, "run", "--select", "rpt_sendgrid_usage_history", *as_of_vars(AS_OF))


def test_a_broken_record_fails_a_test(built) -> None:
    """Tests can fail: a teammate with an unknown role breaks accepted_values."""
    target, _, _, _, work, _ = built
    with psycopg.connect(target.conninfo()) as conn:
        conn.execute(
            "insert into sendgrid_staging.teammates (tenant_id, record_key, record_hash, record,"
            " first_seen_at, last_seen_at, extracted_at, run_id) values ('t01-acme-retail',"
            ' \'ghost\', \'h\', \'{"username": "ghost", "user_type": "guest"}\', now(), now(),'
            " now(), 'manual')"
        )
    try:
        proc, results = run_dbt(target, work, "test", "--select", "stg_sendgrid__teammates",
                                check=False)  # fmt: skip
        assert proc.returncode != 0
        failed = [r["unique_id"] for r in results if r["status"] == "fail"]
        assert any("accepted_values_stg_sendgrid__teammates_user_type" in f for f in failed)
    finally:
        with psycopg.connect(target.conninfo()) as conn:
            conn.execute("delete from sendgrid_staging.teammates where record_key = 'ghost'")


def test_docs_generate_documents_every_mart_and_report(built) -> None:
    target, _, _, _, work, _ = built
    run_dbt(target, work, "docs", "generate", *as_of_vars(AS_OF))
    catalog = json.loads((work / "target" / "catalog.json").read_text())
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    for model in MARTS + REPORTS:
        node = f"model.sendgrid_utilization.{model}"
        assert node in catalog["nodes"], model
        assert manifest["nodes"][node]["description"], model
        undocumented = [
            c for c, v in manifest["nodes"][node]["columns"].items() if not v["description"]
        ]
        assert undocumented == [], model


def test_source_freshness_passes_for_fresh_data_and_fails_for_stale(pg_database, tmp_path) -> None:
    """Freshness is measured against the wall clock by nature (an operational check, not a
    figure): rows loaded an hour ago pass, rows loaded four days ago fail."""
    create_staging(pg_database)
    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(pg_database.conninfo()) as conn:
        for stream, loaded in (("user_credits", now - dt.timedelta(hours=1)),
                               ("teammates", now - dt.timedelta(days=4))):  # fmt: skip
            conn.execute(
                sql.SQL(
                    "insert into sendgrid_staging.{} (tenant_id, record_key, record_hash,"
                    " record, first_seen_at, last_seen_at, extracted_at, run_id)"
                    " values ('t', 'k', 'h', '{{}}', %s, %s, %s, 'r')"
                ).format(sql.Identifier(stream)),
                [loaded, loaded, loaded],
            )
    _, results = run_dbt(pg_database, tmp_path, "source", "freshness", check=False)
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results}
    assert statuses["user_credits"] == "pass"
    assert statuses["teammates"] == "error"


def test_second_run_only_processes_new_days(built) -> None:
    """After a new extraction (a new day, and yesterday re-pulled), only those rows change."""
    target, _, _, _, work, staging = built
    before = _activity_by_day(target)
    later = staging.now + dt.timedelta(hours=2)
    today = staging.now.date()
    new_day = today + dt.timedelta(days=1)
    tenant = "t02-bluebird-bakery"
    with psycopg.connect(target.conninfo()) as conn:
        conn.execute(
            "insert into sendgrid_staging.global_stats (tenant_id, record_key, record_hash,"
            " record, first_seen_at, last_seen_at, extracted_at, run_id) values (%s, %s, 'n',"
            " %s, %s, %s, %s, 'run2')",
            [tenant, new_day.isoformat(),
             psycopg.types.json.Jsonb({"date": new_day.isoformat(),
                                       "stats": [{"metrics": metrics(777, 1)}]}),
             later, later, later],
        )  # fmt: skip
        conn.execute(  # the lookback re-pulls today: late opens changed the record
            "update sendgrid_staging.global_stats set record = jsonb_set(record,"
            " '{stats,0,metrics,requests}', '4321'), extracted_at = %s, record_hash = 'u'"
            " where tenant_id = %s and record_key = %s",
            [later, tenant, today.isoformat()],
        )
    next_as_of = AS_OF + dt.timedelta(days=1)  # the next extract run's data interval end
    _, results = run_dbt(
        target, work, "run", "--select", "fct_sendgrid_email_activity_daily",
        *as_of_vars(next_as_of),
    )  # fmt: skip
    assert results[0]["adapter_response"]["rows_affected"] == 2
    after = _activity_by_day(target)
    changed = {k for k in after if k not in before or after[k][0] != before[k][0]}
    assert changed == {(tenant, "", today), (tenant, "", new_day)}
    # dbt_updated_at is the as-of instant of the run that wrote the row, not the wall clock
    assert {after[k][0] for k in changed} == {next_as_of}
    assert {v[0] for k, v in after.items() if k not in changed} == {AS_OF}
    assert after[(tenant, "", today)][1] == 4321
    assert after[(tenant, "", new_day)][1] == 777
    assert len(after) == len(before) + 1


def _activity_by_day(target) -> dict[tuple, tuple]:
    """``(tenant, subuser, day) -> (dbt_updated_at, requests)`` of the daily activity mart."""
    return dict(
        ((t, s, d), (u, r))
        for t, s, d, u, r in query(
            target,
            "select tenant_id, subuser_username, activity_date, dbt_updated_at, requests"
            " from sendgrid_marts.fct_sendgrid_email_activity_daily",
        )
    )
