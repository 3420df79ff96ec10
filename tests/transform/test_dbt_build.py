"""dbt build on a staging data set shaped like the loader's: tests, contracts, figures, increments.

One database and one ``dbt build`` per module (the expensive part); the tests then read the
marts and compare them with the figures computed from the records that were written.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from tests.transform.dbt_runner import run_dbt
from tests.transform.staging_data import build_scenario, create_staging, metrics

MARTS = (
    "dim_sendgrid_tenants", "fct_sendgrid_plan_utilization", "fct_sendgrid_email_activity_daily",
    "fct_sendgrid_seat_utilization", "fct_sendgrid_feature_adoption", "dim_sendgrid_api_keys",
    "fct_sendgrid_suppressions_monthly", "fct_sendgrid_connection_health",
    "fct_sendgrid_plan_recommendation", "sendgrid_utilization_overview",
)  # fmt: skip


@pytest.fixture(scope="module")
def built(postgres_server, tmp_path_factory):
    """A database with the scenario loaded and built once; yields (target, truths, results)."""
    name = f"test_dbt_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    target = postgres_server.with_database(name)
    work = tmp_path_factory.mktemp("dbt")
    try:
        create_staging(target)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
        staging, truths = build_scenario(now)
        staging.write(target)
        proc, results = run_dbt(target, work, "build", check=False)
        yield target, truths, results, proc, work, staging
    finally:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


def query(target, text: str, params=None) -> list[tuple]:
    with psycopg.connect(target.conninfo()) as conn:
        return conn.execute(text, params or []).fetchall()


def test_dbt_build_passes_every_test_contract_and_unit_test(built) -> None:
    _, _, results, proc, _, _ = built
    assert proc.returncode == 0, proc.stdout[-6000:]
    failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass", "no-op")]
    assert failed == []
    ids = [r["unique_id"] for r in results]
    assert sum(i.startswith("unit_test.") for i in ids) >= 4
    assert sum(i.startswith("test.") for i in ids) >= 300
    for mart in MARTS:
        assert f"model.sendgrid_utilization.{mart}" in ids


def test_marts_are_typed_tables_in_the_marts_schema_with_enforced_contracts(built) -> None:
    target = built[0]
    rows = query(
        target,
        "select table_name, table_type from information_schema.tables"
        " where table_schema = 'sendgrid_marts'",
    )
    assert {name for name, kind in rows if kind == "BASE TABLE"} >= set(MARTS)
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
            if m < last.replace(day=1) and m >= _months_back(last.replace(day=1), 12)
        )  # fmt: skip
        assert peak == max(window)
        assert p95 == int(-(-_percentile(window, 0.95) // 1))
        assert required == max(peak, math.ceil(Decimal(p95) * Decimal("1.2")))
        fits = [
            (price if price is not None else 10**9, code)
            for code, emails, price, limit in catalog
            if (emails is None or emails >= required) and limit >= seats[tenant]
        ]
        assert plan == min(fits)[1]


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


def test_source_freshness_and_docs_generate(built) -> None:
    target, _, _, _, work, _ = built
    _, results = run_dbt(target, work, "source", "freshness")
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results}
    for stream in ("user_credits", "global_stats", "teammates", "api_keys", "connection_health"):
        assert statuses[stream] == "pass", stream
    run_dbt(target, work, "docs", "generate")
    catalog = (work / "target" / "catalog.json").read_text()
    assert "model.sendgrid_utilization.sendgrid_utilization_overview" in catalog


def test_second_run_only_processes_new_days(built) -> None:
    """After a new extraction (a new day, and yesterday re-pulled), only those rows change."""
    target, _, _, _, work, staging = built
    before = dict(
        ((t, s, d), (u, r))
        for t, s, d, u, r in query(
            target,
            "select tenant_id, subuser_username, activity_date, dbt_updated_at, requests"
            " from sendgrid_marts.fct_sendgrid_email_activity_daily",
        )
    )
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
    _, results = run_dbt(target, work, "run", "--select", "fct_sendgrid_email_activity_daily")
    assert results[0]["adapter_response"]["rows_affected"] == 2
    after = dict(
        ((t, s, d), (u, r))
        for t, s, d, u, r in query(
            target,
            "select tenant_id, subuser_username, activity_date, dbt_updated_at, requests"
            " from sendgrid_marts.fct_sendgrid_email_activity_daily",
        )
    )
    changed = {k for k in after if k not in before or after[k][0] != before[k][0]}
    assert changed == {(tenant, "", today), (tenant, "", new_day)}
    assert after[(tenant, "", today)][1] == 4321
    assert after[(tenant, "", new_day)][1] == 777
    assert len(after) == len(before) + 1


def _months_back(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def _percentile(values: list[int], q: float) -> float:
    """PostgreSQL percentile_cont (linear interpolation)."""
    pos = q * (len(values) - 1)
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)
