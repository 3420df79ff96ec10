"""Runtime of `dbt build` on a large staging data set (prints figures, asserts nothing).

Until the `large` simulator is loaded through the extract DAG here, the data set is synthetic
and follows docs/staging-contract.md: the hand-made three-tenant scenario of the transform
tests plus a `large`-like tenant (100 subusers, ~3 years of daily stats per sender, 400k
requests/day, ~40k suppressions), generated in SQL. Usage:

    .venv/bin/python bench/bench_dbt_build.py [--days 1062] [--subusers 100] [--pg-url URL]

PostgreSQL: ``--pg-url`` or ``TEST_POSTGRES_URL``, else the embedded server (:mod:`bench.postgres`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.postgres import add_pg_url, bench_server
from sendgrid_elt.postgres_target import PostgresTarget
from tests.scratch_db import scratch_database
from tests.transform.dbt_runner import run_dbt
from tests.transform.staging_data import build_scenario, create_staging

_METRICS = """jsonb_build_object('requests', r, 'processed', r - r / 200, 'delivered', r * 97 / 100,
    'opens', r / 3, 'unique_opens', r / 5, 'clicks', r / 30, 'unique_clicks', r / 50,
    'bounces', r / 100, 'bounce_drops', r / 400, 'blocks', r / 250, 'deferred', r / 50,
    'spam_reports', r / 5000, 'spam_report_drops', r / 8000, 'unsubscribes', r / 800,
    'unsubscribe_drops', r / 900, 'invalid_emails', r / 1000)"""


def load_large(target: PostgresTarget, days: int, subusers: int) -> int:
    """Add the synthetic large tenant with set-based SQL; return the staging rows added."""
    tenant = "t99-titan-mail"
    with psycopg.connect(target.conninfo()) as conn:
        conn.execute(
            "insert into sendgrid_staging.tenants values (%s, 'Titan Mail Holdings', 'global',"
            " 'api_key', null, now(), now())",
            [tenant],
        )
        conn.execute(
            sql.SQL(
                "insert into sendgrid_staging.global_stats (tenant_id, record_key, record_hash,"
                " record, first_seen_at, last_seen_at, extracted_at, run_id)"
                " select %s, d::date::text, md5(d::text), jsonb_build_object('date', d::date::text,"
                " 'stats', jsonb_build_array(jsonb_build_object('metrics', {metrics}))),"
                " now(), now(), now(), 'bench'"
                " from generate_series(current_date - %s, current_date, interval '1 day') as d,"
                " lateral (select (300000 + (extract(doy from d)::int * 997) %% 200000) as r) as v"
            ).format(metrics=sql.SQL(_METRICS)),
            [tenant, days],
        )
        conn.execute(
            sql.SQL(
                "insert into sendgrid_staging.subuser_stats (tenant_id, subuser, record_key,"
                " record_hash, record, first_seen_at, last_seen_at, extracted_at, run_id)"
                " select %s, 'titan-' || s, d::date::text || '|titan-' || s, md5(d::text || s),"
                " jsonb_build_object('date', d::date::text, 'type', 'subuser', 'name',"
                " 'titan-' || s, 'metrics', {metrics}), now(), now(), now(), 'bench'"
                " from generate_series(1, %s) as s,"
                " generate_series(current_date - %s, current_date, interval '1 day') as d,"
                " lateral (select ((s * 7919 + extract(doy from d)::int * 31) %% 4000) as r) as v"
            ).format(metrics=sql.SQL(_METRICS)),
            [tenant, subusers, days],
        )
        conn.execute(
            "insert into sendgrid_staging.subusers (tenant_id, record_key, record_hash, record,"
            " first_seen_at, last_seen_at, extracted_at, run_id)"
            " select %s, (5000 + s)::text, md5(s::text), jsonb_build_object('id', 5000 + s,"
            " 'username', 'titan-' || s, 'email', 's' || s || '@titan.example.com',"
            " 'disabled', s %% 9 = 0), now() - interval '30 days', now(), now(), 'bench'"
            " from generate_series(1, %s) as s",
            [tenant, subusers],
        )
        conn.execute(
            "insert into sendgrid_staging.user_credits (tenant_id, record_key, record_hash,"
            " record, first_seen_at, last_seen_at, extracted_at, run_id) values (%s, '', 'c',"
            " jsonb_build_object('total', 5000000, 'used', 4100000, 'remain', 900000,"
            " 'overage', 0, 'reset_frequency', 'monthly', 'last_reset',"
            " date_trunc('month', current_date)::date::text, 'next_reset',"
            " (date_trunc('month', current_date) + interval '1 month')::date::text),"
            " now(), now(), now(), 'bench')",
            [tenant],
        )
        for stream in ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes"):
            conn.execute(
                sql.SQL(
                    "insert into sendgrid_staging.{} (tenant_id, record_key, record_hash, record,"
                    " first_seen_at, last_seen_at, extracted_at, run_id)"
                    " select %s, 'x' || i || '@example.org', md5(i::text),"
                    " jsonb_build_object('email', 'x' || i || '@example.org', 'created',"
                    " extract(epoch from now())::bigint - i * 2600), now(), now(), now(), 'bench'"
                    " from generate_series(1, 8000) as i"
                ).format(sql.Identifier(stream)),
                [tenant],
            )
        rows = conn.execute(
            "select sum(n) from (select count(*) as n from sendgrid_staging.global_stats union all"
            " select count(*) from sendgrid_staging.subuser_stats) as c"
        ).fetchone()[0]
    return int(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=1062)
    parser.add_argument("--subusers", type=int, default=100)
    add_pg_url(parser)
    args = parser.parse_args()
    with bench_server(args.pg_url) as server:
        return _run(args, server)


def _run(args: argparse.Namespace, server: PostgresTarget) -> int:
    with scratch_database(server, "bench_dbt") as target:
        create_staging(target)
        staging, _ = build_scenario(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        staging.write(target)
        t0 = time.perf_counter()
        stats_rows = load_large(target, args.days, args.subusers)
        print(f"synthetic staging load: {stats_rows:,} daily stats rows "
              f"in {time.perf_counter() - t0:.1f}s")  # fmt: skip
        with tempfile.TemporaryDirectory() as work:
            for label in ("dbt build (first, full)", "dbt build (second, incremental)"):
                t0 = time.perf_counter()
                _, results = run_dbt(target, Path(work), "build")
                elapsed = time.perf_counter() - t0
                daily = next(
                    r
                    for r in results
                    if r["unique_id"].endswith("fct_sendgrid_email_activity_daily")
                )
                print(
                    f"{label}: {elapsed:.1f}s wall, {len(results)} nodes, email_activity_daily "
                    f"{daily['execution_time']:.1f}s "
                    f"({daily['adapter_response'].get('rows_affected')} rows)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
