"""One failing model: what a BI reader of the marts schema can tell (real dbt, real PostgreSQL).

dbt builds every model a failure does not reach, so after the run some marts hold the new as-of
and the failure's dependants still hold the previous run's rows; a model whose own data test
failed holds the new, failing rows. The on-run-end hook's ``sendgrid_build_status`` (macro
``record_build_status``) names, per mart and report, the last run's outcome and the as-of of
the rows the table holds; a table the run did not select, left at an earlier as-of than the
ones it rebuilt, is not current either. Runs on ``built`` (``conftest``) and leaves it as it
found it.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg import sql

from tests.transform.dbt_runner import as_of_vars, run_dbt
from tests.transform.marts_reading import AS_OF, BUILD_STATUS, MARTS, REPORTS, query

pytestmark = pytest.mark.slow

TENANT = "t01-acme-retail"
#: Models reading dim_sendgrid_tenants (dbt skips them when it fails).
DEPENDANTS = {
    "fct_sendgrid_overage_forecast", "rpt_sendgrid_api_key_summary",
    "rpt_sendgrid_api_keys_flagged", "rpt_sendgrid_credit_periods",
    "rpt_sendgrid_deliverability_daily", "rpt_sendgrid_features", "rpt_sendgrid_monthly_volume",
    "rpt_sendgrid_overage_forecast", "rpt_sendgrid_plan_recommendation",
    "rpt_sendgrid_portfolio", "rpt_sendgrid_seat_activity", "rpt_sendgrid_seat_weeks",
    "rpt_sendgrid_suppressions_monthly", "rpt_sendgrid_tenant_health",
    "rpt_sendgrid_usage_history", "rpt_sendgrid_utilization_overview",
}  # fmt: skip
#: The run's selection: the failing mart, its dependants, and one mart unrelated to it.
SELECT = ("--select", "dim_sendgrid_tenants+", "fct_sendgrid_connection_health")


def _status(target) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in query(
            target,
            sql.SQL(
                "select model_name, last_run_status, last_run_as_of_at, data_as_of_at,"
                " is_current from sendgrid_marts.{}"
            ).format(sql.Identifier(BUILD_STATUS)),
        )
    }


def _set_reputation(target, value: float) -> float:
    """Set the tenant's account reputation in staging; return the previous value."""
    with psycopg.connect(target.conninfo()) as conn:
        ((before,),) = conn.execute(
            "select (record ->> 'reputation')::numeric from sendgrid_staging.user_account"
            " where tenant_id = %s",
            [TENANT],
        ).fetchall()
        conn.execute(
            "update sendgrid_staging.user_account set record = jsonb_set(record, '{reputation}',"
            " to_jsonb(%s::numeric)) where tenant_id = %s",
            [value, TENANT],
        )
    return float(before)


def test_a_failed_mart_and_the_dependants_it_left_behind_are_named(built) -> None:
    target, _, _, _, work, _ = built
    assert _status(target) == {m: ("success", AS_OF, AS_OF, True) for m in MARTS + REPORTS}

    later = AS_OF + dt.timedelta(days=1)
    before = _set_reputation(target, 250)  # breaks accepted_range on dim_sendgrid_tenants
    try:
        proc, results = run_dbt(target, work, "build", *SELECT, *as_of_vars(later), check=False)
        assert proc.returncode == 1
        assert any(
            "accepted_range_dim_sendgrid_tenants_reputation" in r["unique_id"]
            for r in results
            if r["status"] == "fail"
        )
        status = _status(target)
        # dim was rebuilt (it holds the failing rows), its dependants were not
        assert status["dim_sendgrid_tenants"] == ("tests_failed", later, later, False)
        assert {m: status[m] for m in DEPENDANTS} == {
            m: ("skipped", later, AS_OF, False) for m in DEPENDANTS
        }
        assert status["fct_sendgrid_connection_health"] == ("success", later, later, True)
        # the run did not select them: their rows are a day behind the ones it built
        untouched = set(MARTS + REPORTS) - DEPENDANTS - set(SELECT[1:]) - {"dim_sendgrid_tenants"}
        assert {m: status[m] for m in untouched} == {
            m: ("success", AS_OF, AS_OF, False) for m in untouched
        }
    finally:
        _set_reputation(target, before)
        run_dbt(target, work, "build", *SELECT, *as_of_vars(AS_OF))
    assert _status(target) == {m: ("success", AS_OF, AS_OF, True) for m in MARTS + REPORTS}
