"""Reading the built marts in the dbt tests: model names, the pinned as-of, queries, digests."""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

from sendgrid_elt.settings import BUILD_STATUS_TABLE

MARTS = (
    "dim_sendgrid_tenants", "fct_sendgrid_plan_utilization", "fct_sendgrid_email_activity_daily",
    "fct_sendgrid_seat_utilization", "fct_sendgrid_feature_adoption", "dim_sendgrid_api_keys",
    "fct_sendgrid_suppressions_monthly", "fct_sendgrid_connection_health",
    "fct_sendgrid_plan_recommendation", "fct_sendgrid_seat_activity",
    "fct_sendgrid_overage_forecast", "fct_sendgrid_plan_utilization_history",
    "dim_sendgrid_subusers",
)  # fmt: skip
REPORTS = (
    "rpt_sendgrid_portfolio", "rpt_sendgrid_utilization_overview", "rpt_sendgrid_tenant_health",
    "rpt_sendgrid_credit_periods", "rpt_sendgrid_monthly_volume",
    "rpt_sendgrid_deliverability_daily", "rpt_sendgrid_seat_weeks", "rpt_sendgrid_seat_activity",
    "rpt_sendgrid_features", "rpt_sendgrid_api_key_summary", "rpt_sendgrid_api_keys_flagged",
    "rpt_sendgrid_suppressions_monthly", "rpt_sendgrid_plan_recommendation",
    "rpt_sendgrid_overage_forecast", "rpt_sendgrid_usage_history",
)  # fmt: skip
#: The on-run-end hook's table beside them (macro record_build_status): what each one holds.
#: Its name's owner is the dashboard, which reads it.
BUILD_STATUS = BUILD_STATUS_TABLE
#: The transform's as-of instant (a data interval end); the extraction ran 20 minutes later.
AS_OF = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
#: The as-of day (sendgrid_as_of_date): the last day begun before AS_OF, a midnight, so the
#: last complete day; the data's "today".
AS_OF_DAY = (AS_OF - dt.timedelta(microseconds=1)).date()
EXTRACTED_AT = AS_OF + dt.timedelta(minutes=20)


def query(target, text: str, params=None) -> list[tuple]:
    with psycopg.connect(target.conninfo()) as conn:
        return conn.execute(text, params or []).fetchall()


def rows(target, table: str) -> list[dict]:
    """Every row of ``sendgrid_marts.<table>`` as dicts."""
    from psycopg.rows import dict_row

    with psycopg.connect(target.conninfo(), row_factory=dict_row) as conn:
        return conn.execute(
            sql.SQL("select * from sendgrid_marts.{}").format(sql.Identifier(table))
        ).fetchall()


def table_digest(target, table: str) -> str:
    """md5 of a table's rows in a stable order (content, not storage)."""
    ((digest,),) = query(
        target,
        sql.SQL(
            "select md5(coalesce(string_agg(t::text, E'\\n' order by t::text), ''))"
            " from sendgrid_marts.{} as t"
        ).format(sql.Identifier(table)),
    )
    return digest
