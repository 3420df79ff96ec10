"""Two daily runs across a month end: the closed credit period's figures equal the truth.

The simulator's clock is pinned (2026-11-30, then one day on), days away from the wall clock
the loader stamps its rows with. The run as of 2026-12-01 closes November (and the Free
tenant's daily period of 2026-11-30); its last credits reading, taken by the run as of
2026-11-30, counts the sends through 2026-11-29, so the period's use is that reading plus
the emails requested on 2026-11-30, whatever day the test runs on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sendgrid_elt.postgres_target import PostgresTarget

from .conftest import REPO_ROOT, TENANTS, _connection, _database, query

pytestmark = pytest.mark.slow

FIRST_CLOCK = dt.date(2026, 11, 30)


def _sent_in_november(truth: dict[str, Any], tenant_id: str) -> int:
    """Emails the tenant's parent and subusers requested in November (by that truth's clock)."""
    tenant = next(t for t in truth["tenants"] if t["tenant_id"] == tenant_id)
    months = [tenant["aggregates"]["requests_by_month"]]
    months += [sub["requests_by_month"] for sub in tenant["subusers"].values()]
    return sum(m.get("2026-11", 0) for m in months)


@pytest.fixture(scope="module")
def two_runs(
    airflow_home: Path, postgres_server: PostgresTarget, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PostgresTarget, list[dict[str, Any]], dict[str, str]]]:
    """Extract + ``dbt build`` as of 2026-11-30 and 2026-12-01; yields the database, each
    run's truth and the conn id of each simulator tenant."""
    from airflow.dag_processing.dagbag import DagBag

    from sendgrid_simulator.testing import run_simulator
    from tests.transform.dbt_runner import as_of_vars, run_dbt

    work = tmp_path_factory.mktemp("closed_period")
    with (
        _database(postgres_server) as target,
        run_simulator(seed=42, scale="tiny", clock=FIRST_CLOCK) as sim,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("AIRFLOW_CONN_SENDGRID_WAREHOUSE", target.airflow_connection_json())
        for conn_id, (index, kind) in TENANTS.items():
            mp.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", _connection(sim, index, kind))
        extract = DagBag(dag_folder=str(REPO_ROOT / "dags")).dags["sendgrid_extract_load"]
        truths = []
        for step in range(2):
            if step:
                sim.control.advance(days=1)
            as_of = dt.datetime.fromisoformat(sim.control.clock()["as_of"])
            assert str(extract.test(logical_date=as_of).state) == "success"
            run_dbt(target, work, "build", *as_of_vars(as_of))
            truths.append(sim.control.truth())
        conn_ids = {sim.accounts["tenants"][i]["tenant_id"]: c for c, (i, _) in TENANTS.items()}
        yield target, truths, conn_ids


def test_a_closed_period_holds_its_last_days_sends(two_runs) -> None:
    """November's credits used = every email requested in November (parent and subusers: a
    parent's credits count its subusers' sends); the Free tenant's 2026-11-30 = that day's.
    Before, the last reading's time was the loader's wall clock (days after the simulated
    2026-11-30), so November 30's sends were never added: the period read short."""
    target, (before, after), conn_ids = two_runs
    checked = 0
    for tenant in after["tenants"]:
        conn_id = conn_ids[tenant["tenant_id"]]
        daily = tenant["aggregates"]["credits"]["reset_frequency"] == "daily"
        start = dt.date(2026, 11, 30) if daily else dt.date(2026, 11, 1)
        (period,) = query(
            target,
            "select * from sendgrid_marts.fct_sendgrid_plan_utilization"
            " where tenant_id = %s and period_start_date = %s",
            conn_id,
            start,
        )
        sent = _sent_in_november(after, tenant["tenant_id"])
        if daily:  # the day's sends: November's less those through 2026-11-29
            sent -= _sent_in_november(before, tenant["tenant_id"])
        assert (period["is_period_closed"], period["projection_basis"]) == (True, "actual")
        assert period["credits_used"] == sent, (conn_id, start)
        assert period["credits_used"] == period["emails_requested"], conn_id
        total = period["credits_total"]
        assert period["credits_remain"] == max(total - sent, 0), conn_id
        assert period["credits_overage"] == max(sent - total, 0), conn_id
        checked += 1
    assert checked == len(TENANTS)
