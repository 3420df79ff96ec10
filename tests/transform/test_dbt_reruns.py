"""dbt run again on the built database: rebuilds, the as-of, history, failures, docs, increments.

The database is the one ``built`` (``conftest``) made for ``test_dbt_build``, which runs first:
these tests change it (snapshots at other as-of instants, a new day of staging data) and
restore what ``test_dbt_build`` reads where they can. Source freshness uses its own database.
"""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from psycopg import sql

from tests.transform.dbt_runner import as_of_vars, run_dbt
from tests.transform.marts_reading import (
    AS_OF,
    AS_OF_DAY,
    MARTS,
    REPORTS,
    query,
    rows,
    table_digest,
)
from tests.transform.staging_data import Staging, create_staging, metrics

pytestmark = pytest.mark.slow  # dbt runs a dozen times


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
    """Each run adds its as-of snapshot; rebuilding an as-of replaces it (no duplicates). A
    run whose extraction did not read a tenant's credits (it failed) adds none for it."""
    target, truths, _, _, work, _ = built
    select = ("--select", "fct_sendgrid_plan_utilization+", "--exclude", "rpt_sendgrid_portfolio")
    later = AS_OF + dt.timedelta(hours=12)
    with psycopg.connect(target.conninfo()) as conn:  # the run as of `later` read them again
        saved = conn.execute(
            "select tenant_id, record_hash, last_seen_at from sendgrid_staging.user_credits"
            " where subuser = '' and is_current"
        ).fetchall()
        conn.execute(
            "update sendgrid_staging.user_credits set last_seen_at = %s"
            " where subuser = '' and is_current",
            [later + dt.timedelta(minutes=20)],
        )
    assert saved
    try:
        run_dbt(target, work, "run", *select, *as_of_vars(later))
        # the next day's extraction failed: its run keeps no snapshot of the earlier readings
        run_dbt(target, work, "run", *select, *as_of_vars(AS_OF + dt.timedelta(days=1)))
    finally:
        with psycopg.connect(target.conninfo()) as conn:
            for tenant, record_hash, seen in saved:
                conn.execute(
                    "update sendgrid_staging.user_credits set last_seen_at = %s"
                    " where tenant_id = %s and subuser = '' and record_hash = %s",
                    [seen, tenant, record_hash],
                )
    run_dbt(target, work, "run", *select, *as_of_vars(AS_OF))
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
    """A run takes the days up to its as-of day that the table did not hold or the loader
    wrote since the rows it holds, rereading a window (var sendgrid_activity_reprocess_minutes,
    270 minutes by default) before its high-water mark: extracted_at is when a stream or
    transaction began, so a row an extract task commits after a run read staging can be older
    than that run's mark. Rows within the window are rewritten as they were; older ones are
    untouched. The partial day of an extraction waits for the run whose as-of day it is, even
    if nothing re-pulls it.
    """
    target, truths, _, _, work, staging = built
    before = _activity_by_day(target)
    # the scenario's extraction ran on the day after the as-of day: its partial day waits
    today = staging.now.date()
    assert today == AS_OF_DAY + dt.timedelta(days=1)
    assert max(day for _, _, day in before) == AS_OF_DAY
    later = staging.now + dt.timedelta(days=1)  # the next day's extraction
    new_day = today + dt.timedelta(days=1)  # its partial day
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
    # today's rows: bluebird's re-pulled, the other tenants' as the first extraction left them
    todays = {(t, s, d) for t, truth in truths.items() for s, d in truth.daily_requests
              if d == today}  # fmt: skip
    assert (tenant, "", today) in todays
    assert len(todays) > 1
    next_as_of = AS_OF + dt.timedelta(days=1)  # the next extract run's data interval end
    _, results = run_dbt(
        target, work, "run", "--select", "fct_sendgrid_email_activity_daily",
        *as_of_vars(next_as_of),
    )  # fmt: skip
    # the table's mark is the first extraction's (which loaded every day): all its rows are
    # within the window and rewritten, with today's rows
    assert results[0]["adapter_response"]["rows_affected"] == len(before) + len(todays)
    after = _activity_by_day(target)
    assert set(after) == set(before) | todays  # new_day is after the as-of day (today): not yet
    assert {k: v[1] for k, v in after.items() if k in before} == {
        k: v[1] for k, v in before.items()
    }  # rewritten as they were
    # dbt_updated_at is the as-of instant of the run that wrote the row, not the wall clock
    assert {v[0] for v in after.values()} == {next_as_of}
    assert after[(tenant, "", today)][1] == 4321

    # a stream that began before bluebird's and committed after the run above read staging:
    # its row is older than the table's mark now (bluebird's rows, `later`)
    late = min((t, s, d) for t, s, d in todays if t != tenant and s == "")
    with psycopg.connect(target.conninfo()) as conn:
        conn.execute(
            "update sendgrid_staging.global_stats set record = jsonb_set(record,"
            " '{stats,0,metrics,requests}', '999'), extracted_at = %s, record_hash = 'l'"
            " where tenant_id = %s and subuser = '' and record_key = %s",
            [later - dt.timedelta(hours=1), late[0], today.isoformat()],
        )
    # the run whose as-of day new_day is takes it, though nothing wrote it since the last run;
    # it retakes the rows within the window (bluebird's, the late one), not the first
    # extraction's, a day older than the mark
    last_as_of = next_as_of + dt.timedelta(days=1)
    _, results = run_dbt(
        target, work, "run", "--select", "fct_sendgrid_email_activity_daily",
        *as_of_vars(last_as_of),
    )  # fmt: skip
    assert results[0]["adapter_response"]["rows_affected"] == 3
    last = _activity_by_day(target)
    assert {k for k in last if k not in after} == {(tenant, "", new_day)}
    assert last[(tenant, "", new_day)] == (last_as_of, 777)
    assert {k for k, v in last.items() if v[0] == last_as_of} == {
        (tenant, "", new_day), (tenant, "", today), late}  # fmt: skip
    assert last[late][1] == 999  # lost for good with a mark without the window
    assert last[(tenant, "", today)] == (last_as_of, 4321)
    assert {k: v for k, v in last.items() if v[0] != last_as_of} == {
        k: v for k, v in after.items() if k not in ((tenant, "", today), late)
    }  # untouched


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


def test_a_plan_change_mid_period_ends_the_old_period(built) -> None:
    """An upgrade resets the credits mid-period: the old period's last reading still names
    the month's end as next_reset. The old period ends where the new one starts (the data
    test periods_do_not_overlap holds), so no day's emails count in both periods."""
    target, _, _, _, work, staging = built
    tenant = "t02-bluebird-bakery"
    upgrade = AS_OF_DAY - dt.timedelta(days=3)
    month_start = AS_OF_DAY.replace(day=1)
    read_before = dt.datetime.combine(upgrade, dt.time(0, 20), dt.UTC)
    select = ("--select", "int_sendgrid__credit_periods", "fct_sendgrid_plan_utilization")
    with psycopg.connect(target.conninfo()) as conn:
        ((old_seen,),) = conn.execute(
            "update sendgrid_staging.user_credits set is_current = false, last_seen_at = %s"
            " where tenant_id = %s and subuser = '' and is_current returning last_seen_at",
            [read_before, tenant],
        ).fetchall()
        conn.execute(
            "insert into sendgrid_staging.user_credits (tenant_id, record_key, record_hash,"
            " record, first_seen_at, last_seen_at, extracted_at, run_id) values (%s, '',"
            " 'upgraded', %s, %s, %s, %s, 'run2')",
            [tenant,
             psycopg.types.json.Jsonb({"total": 300000, "used": 2000, "remain": 298000,
                                       "overage": 0, "last_reset": upgrade.isoformat(),
                                       "next_reset": (upgrade + dt.timedelta(days=30)).isoformat(),
                                       "reset_frequency": "monthly"}),
             staging.now, staging.now, staging.now],
        )  # fmt: skip
    try:
        _, results = run_dbt(target, work, "build", *select, *as_of_vars(AS_OF))
        assert {r["status"] for r in results} <= {"success", "pass"}
        assert any("periods_do_not_overlap" in r["unique_id"] for r in results)
        periods = query(
            target,
            "select period_start_date, period_end_date, emails_requested"
            " from sendgrid_marts.fct_sendgrid_plan_utilization where tenant_id = %s"
            " and period_start_date >= %s order by 1",
            [tenant, month_start],
        )
        assert [p[:2] for p in periods] == [
            (month_start, upgrade), (upgrade, upgrade + dt.timedelta(days=30))]  # fmt: skip
        (month,) = query(
            target,
            "select sum(requests)"
            " from sendgrid_dbt_intermediate.int_sendgrid__tenant_requests_daily"
            " where tenant_id = %s and activity_date between %s and %s",
            [tenant, month_start, AS_OF_DAY],
        )
        assert sum(p[2] for p in periods) == month[0]  # each day in one period
    finally:
        with psycopg.connect(target.conninfo()) as conn:
            conn.execute("delete from sendgrid_staging.user_credits where record_hash = 'upgraded'")
            conn.execute(
                "update sendgrid_staging.user_credits set is_current = true, last_seen_at = %s"
                " where tenant_id = %s and subuser = '' and last_seen_at = %s",
                [old_seen, tenant, read_before],
            )
        run_dbt(target, work, "run", *select, *as_of_vars(AS_OF))


def test_duplicate_and_subuser_connections_are_counted_once(built) -> None:
    """A second connection to the same SendGrid account (same user id and username) names the
    first; a connection to a subuser of a connected tenant names that parent and gets no plan
    recommendation. Both are left out of every portfolio figure but the connection counts,
    and out of the overage alerts.

    Last in this module: it adds two tenants to ``built``'s database and rebuilds from scratch.
    """
    target, truths, _, _, work, staging = built
    run_dbt(target, work, "run", "--full-refresh", *as_of_vars(AS_OF))  # the tests above moved it
    (before,) = rows(target, "rpt_sendgrid_portfolio")
    first, again = "t02-bluebird-bakery", "t04-bluebird-again"
    parent, sub = "t01-acme-retail", "t05-acme-ada"  # t01 lists the subuser acme-ada01 (901)
    with psycopg.connect(target.conninfo()) as conn:
        tables = conn.execute(
            "select table_name, string_agg(quote_ident(column_name), ', '"
            " order by ordinal_position) filter (where column_name <> 'tenant_id')"
            " from information_schema.columns"
            " where table_schema = 'sendgrid_staging' group by 1"
            " having bool_or(column_name = 'tenant_id')"
        ).fetchall()
        for table, columns in tables:
            for copy, source in ((again, first), (sub, "t03-cedar-free")):
                conn.execute(
                    sql.SQL("insert into sendgrid_staging.{} (tenant_id, {}) select %s, {} from"
                            " sendgrid_staging.{} where tenant_id = %s").format(
                        sql.Identifier(table), sql.SQL(columns), sql.SQL(columns),
                        sql.Identifier(table),
                    ),
                    [copy, source],
                )  # fmt: skip
        conn.execute(  # connected a day after the first connection, under another name
            "update sendgrid_staging.tenants set display_name = 'Bluebird (second key)',"
            " first_seen_at = first_seen_at + interval '1 day' where tenant_id = %s",
            [again],
        )
    subuser_key = Staging(now=staging.now)
    subuser_key.add("user_username", sub, {"username": "acme-ada01", "user_id": 901}, "901")
    subuser_key.write(target)
    _, results = run_dbt(target, work, "build", "--full-refresh", *as_of_vars(AS_OF))
    assert {r["status"] for r in results} <= {"success", "pass", "no-op"}

    dims = {r["tenant_id"]: r for r in rows(target, "dim_sendgrid_tenants")}
    assert (dims[again]["sendgrid_user_id"], dims[again]["sendgrid_username"]) == (
        5523456, "bluebird_ops")  # fmt: skip
    assert {t: d["duplicate_of_tenant_id"] for t, d in dims.items()
            if d["duplicate_of_tenant_id"]} == {again: first}  # fmt: skip
    assert {t: d["subuser_of_tenant_id"] for t, d in dims.items()
            if d["subuser_of_tenant_id"]} == {sub: parent}  # fmt: skip
    assert {t for t, d in dims.items() if not d["is_counted_in_totals"]} == {again, sub}
    overview = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_utilization_overview")}
    assert overview[again]["duplicate_of_display_name"] == "Bluebird Bakery"
    assert overview[sub]["subuser_of_display_name"] == "Acme Retail"
    assert overview[again]["requests_30d"] == overview[first]["requests_30d"] > 0
    (rec,) = [r for r in rows(target, "fct_sendgrid_plan_recommendation") if r["tenant_id"] == sub]
    assert rec["recommendation"] == "no_data"
    assert rec["monthly_cost_change_usd"] is None
    assert rec["recommended_plan_code"] is None
    assert rec["recommendation_text"].startswith(f"no recommendation: a subuser of {parent}")
    # the second connection gets no "downgrade, saves $X" of its own: the first one has it
    recs = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_plan_recommendation")}
    assert (recs[again]["recommendation"], recs[again]["monthly_cost_change_usd"]) == (
        "no_data", None)  # fmt: skip
    assert recs[again]["recommendation_text"].startswith(
        f"no recommendation: another connection to the account of {first}"
    )
    # every per-tenant report says which rows a sum across tenants takes
    for model in ("rpt_sendgrid_plan_recommendation", "rpt_sendgrid_monthly_volume",
                  "rpt_sendgrid_credit_periods", "rpt_sendgrid_deliverability_daily"):  # fmt: skip
        flags = {(r["tenant_id"], r["is_counted_in_totals"], r["is_removed"])
                 for r in rows(target, model)}  # fmt: skip
        assert {t for t, _, _ in flags} >= {first, again}, model
        assert flags == {(t, t not in (again, sub), False) for t, _, _ in flags}, model

    (after,) = rows(target, "rpt_sendgrid_portfolio")
    assert (after["tenant_count"], after["account_count"], after["duplicate_connection_count"],
            after["subuser_connection_count"]) == (len(truths) + 2, len(truths), 1, 1)  # fmt: skip
    # the states count connections: each copy is one more connection in its state
    for state in ("connected", "needs_reconnect", "degraded"):
        copies = sum(overview[t]["connection_status"] == state for t in (again, sub))
        assert after[f"{state}_count"] == before[f"{state}_count"] + copies, state
    # one overage alert per account: the copy's forecast stays in the mart, not in the report
    expected = {r["tenant_id"] for r in rows(target, "fct_sendgrid_overage_forecast")
                if r["is_overage_expected"]}  # fmt: skip
    assert {first, again} <= expected
    alerts = {r["tenant_id"] for r in rows(target, "rpt_sendgrid_overage_forecast")}
    assert alerts == expected - {again, sub}
    # every other figure counts each account once
    for column in ("requests_30d", "requests_30d_tenant_count", "features_used",
                   "features_licensed", "features_unused_paid", "credits_at_risk_count",
                   "credits_overage_count", "credits_unknown_count", "projected_overage_cost_usd",
                   "downgrade_count",
                   "downgrade_savings_usd", "upgrade_count", "upgrade_cost_usd",
                   "net_plan_change_usd"):  # fmt: skip
        assert after[column] == before[column], column

    # the first connection is deleted: the second one now stands for the account
    with psycopg.connect(target.conninfo()) as conn:
        conn.execute(
            "update sendgrid_staging.tenants set removed_at = %s where tenant_id = %s",
            [AS_OF - dt.timedelta(hours=1), first],
        )
    _, results = run_dbt(target, work, "build", "--full-refresh", *as_of_vars(AS_OF))
    assert {r["status"] for r in results} <= {"success", "pass", "no-op"}
    dims = {r["tenant_id"]: r for r in rows(target, "dim_sendgrid_tenants")}
    assert (dims[first]["is_removed"], dims[first]["is_counted_in_totals"]) == (True, False)
    # it keeps its identity, and names no one: a removed connection never stands for an account
    assert (dims[first]["sendgrid_user_id"], dims[first]["duplicate_of_tenant_id"]) == (
        5523456, None)  # fmt: skip
    assert (dims[again]["duplicate_of_tenant_id"], dims[again]["is_counted_in_totals"]) == (
        None, True)  # fmt: skip
    overview = {r["tenant_id"]: r for r in rows(target, "rpt_sendgrid_utilization_overview")}
    assert first not in overview
    assert {r["tenant_id"] for r in rows(target, "rpt_sendgrid_overage_forecast")} == (
        expected - {first, sub})  # fmt: skip
    (removed,) = rows(target, "rpt_sendgrid_portfolio")
    counts = ("tenant_count", "account_count", "removed_connection_count",
              "duplicate_connection_count")  # fmt: skip
    assert [removed[c] for c in counts] == [len(truths) + 1, len(truths), 1, 0]
    for column in ("requests_30d", "features_used", "projected_overage_cost_usd",
                   "net_plan_change_usd"):  # fmt: skip
        assert removed[column] == before[column], column  # the copy's figures are the first's
    # a run made with the as-of before the deletion still shows the first connection
    run_dbt(target, work, "run", *as_of_vars(AS_OF - dt.timedelta(hours=2)))
    earlier = {r["tenant_id"]: r for r in rows(target, "dim_sendgrid_tenants")}
    assert (earlier[first]["is_removed"], earlier[again]["duplicate_of_tenant_id"]) == (
        False,
        first,
    )
