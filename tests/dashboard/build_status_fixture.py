"""dbt's build status table in the fixture warehouse, written as its on-run-end macro writes it.

``dbt_project/macros/record_build_status.sql`` upserts one row per mart and report it built:
``data_as_of_at`` is the run's as-of when the model was built (``success``, ``tests_failed``),
else the as-of of the rows it kept; ``is_current`` is ``last_run_status = 'success'`` with rows
as of the newest ``data_as_of_at`` of the table.
``tests/transform/test_dbt_status.py`` checks the real macro; this writes the same shape.

:data:`LEFT_BEHIND`: after a run as of :data:`LAST_RUN` where one mart failed, the credit
periods were skipped and the flagged API keys failed to build (both keep their rows as of
:data:`EARLIER`), the features failed their data tests (rows as of the run), a mart the page
does not read failed too, and every other model was rebuilt.
"""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

from sendgrid_elt.settings import BUILD_STATUS_TABLE, MARTS_SCHEMA

from .marts_schema import AS_OF

#: The rows the page shows were built as of the fixture's as-of; the last run was a day later.
EARLIER = AS_OF
LAST_RUN = AS_OF + dt.timedelta(days=1)
#: The table's columns as the macro creates them (``test_dashboard_build_status`` compares).
COLUMNS = (
    ("model_name", "text primary key"),
    ("last_run_status", "text not null"),
    ("last_run_as_of_at", "timestamptz"),
    ("data_as_of_at", "timestamptz"),
    ("is_current", "boolean not null"),
)
#: Every reporting model of the fixture warehouse.
REPORTS = (
    "rpt_sendgrid_portfolio", "rpt_sendgrid_utilization_overview", "rpt_sendgrid_tenant_health",
    "rpt_sendgrid_credit_periods", "rpt_sendgrid_overage_forecast", "rpt_sendgrid_usage_history",
    "rpt_sendgrid_monthly_volume", "rpt_sendgrid_deliverability_daily", "rpt_sendgrid_seat_weeks",
    "rpt_sendgrid_seat_activity", "rpt_sendgrid_features", "rpt_sendgrid_api_key_summary",
    "rpt_sendgrid_api_keys_flagged", "rpt_sendgrid_suppressions_monthly",
    "rpt_sendgrid_plan_recommendation",
)  # fmt: skip
#: model → (last_run_status, data_as_of_at) of the models the last run did not rebuild cleanly.
LEFT_BEHIND: dict[str, tuple[str, dt.datetime | None]] = {
    "rpt_sendgrid_credit_periods": ("skipped", EARLIER),
    "rpt_sendgrid_api_keys_flagged": ("error", EARLIER),
    "rpt_sendgrid_features": ("tests_failed", LAST_RUN),
    "fct_sendgrid_overage_forecast": ("error", EARLIER),  # a mart: not on the page
}


def write_build_status(
    conninfo: str,
    statuses: dict[str, tuple[str, dt.datetime | None]],
    last_run: dt.datetime = LAST_RUN,
) -> None:
    """Create the build status table; one row per model of ``statuses`` (status, data as-of).

    Every row's ``last_run_as_of_at`` is ``last_run``; ``is_current`` is the macro's rule.
    """
    table = sql.SQL("{}.{}").format(
        sql.Identifier(MARTS_SCHEMA), sql.Identifier(BUILD_STATUS_TABLE)
    )
    newest = max((d for _, d in statuses.values() if d is not None), default=None)
    with psycopg.connect(conninfo) as conn:
        columns = sql.SQL(", ").join(sql.SQL(f"{name} {kind}") for name, kind in COLUMNS)
        conn.execute(sql.SQL("create table {} ({})").format(table, columns))
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL("insert into {} values (%s, %s, %s, %s, %s)").format(table),
                [
                    (
                        model,
                        status,
                        last_run,
                        data_as_of,
                        status == "success" and data_as_of == newest,
                    )
                    for model, (status, data_as_of) in statuses.items()
                ],
            )


def run_statuses(
    not_current: dict[str, tuple[str, dt.datetime | None]],
) -> dict[str, tuple[str, dt.datetime | None]]:
    """Every report rebuilt by the last run (``success`` as of it), but ``not_current``."""
    return {**{m: ("success", LAST_RUN) for m in REPORTS}, **not_current}
