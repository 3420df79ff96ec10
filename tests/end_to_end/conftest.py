"""Real pipeline runs: simulator → extract DAG → transform → marts, at pinned as-of instants.

The simulator's clock is pinned (``BASE_CLOCK``), never today's date, and its "now" is an
instant (the clock date at 00:00 UTC). The extract DAG runs with ``dag.test(logical_date=…)``
so that its data interval ends at that instant: the as-of the marts are built at is the
instant the simulator's truth is computed at.

* ``pipeline``: the base date; both DAGs run for real (the transform DAG takes its as-of from
  the staging data the extract DAG recorded).
* ``pipeline_at``: the base date and the clock moved 40 days back and forward; the shifted
  runs use the extract DAG and ``dbt build`` with the var ``sendgrid_as_of`` (what the
  transform DAG passes), so the date-sensitive checks run at three as-of dates.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sendgrid_elt.postgres_target import PostgresTarget
from tests.scratch_db import scratch_database

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_CLOCK = dt.date(2026, 11, 28)
CLOCK = BASE_CLOCK  # the base run's clock (tests that do not care about the shift)
#: The clock moves, in days, of the date-sensitive checks (issue 17: ±40 days).
SHIFTS = (-40, 0, 40)
#: conn id → (tenant index in the simulator, key kind)
TENANTS = {"e2e_acme": (0, "full"), "e2e_bluebird": (1, "full"), "e2e_cedar": (2, "full")}


@dataclass
class PipelineRun:
    """What a test can inspect after the run."""

    target: PostgresTarget
    truth: dict[str, Any]
    accounts: dict[str, Any]
    extract_state: str
    transform_state: str
    as_of: dt.datetime

    def tenant_truth(self, conn_id: str) -> dict[str, Any]:
        index = TENANTS[conn_id][0]
        tenant_id = self.accounts["tenants"][index]["tenant_id"]
        return next(t for t in self.truth["tenants"] if t["tenant_id"] == tenant_id)


def _connection(sim: Any, index: int, kind: str) -> str:
    tenant = sim.accounts["tenants"][index]
    return json.dumps(
        {
            "conn_type": "sendgrid",
            "host": sim.base_url,
            "password": tenant["api_keys"][kind],
            "extra": {"auth_type": "api_key", "display_name": tenant["name"]},
        }
    )


@contextmanager
def _database(postgres_server: PostgresTarget) -> Iterator[PostgresTarget]:
    with scratch_database(postgres_server, "e2e") as target:
        yield target


@contextmanager
def _run_pipeline(
    postgres_server: PostgresTarget, clock: dt.date, work: Path, *, transform_dag: bool
) -> Iterator[PipelineRun]:
    """Simulator at ``clock`` → extract DAG (data interval ending at the simulator's now) →
    the transform DAG, or ``dbt build --vars sendgrid_as_of`` → a :class:`PipelineRun`."""
    from airflow.dag_processing.dagbag import DagBag

    from sendgrid_simulator.testing import run_simulator
    from tests.transform.dbt_runner import as_of_vars, run_dbt

    with (
        _database(postgres_server) as target,
        run_simulator(seed=42, scale="tiny", clock=clock) as sim,
        pytest.MonkeyPatch.context() as mp,
    ):
        as_of = dt.datetime.fromisoformat(sim.control.clock()["as_of"])
        mp.setenv("AIRFLOW_CONN_SENDGRID_WAREHOUSE", target.airflow_connection_json())
        for conn_id, (index, kind) in TENANTS.items():
            mp.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", _connection(sim, index, kind))
        bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
        assert bag.import_errors == {}
        extract = bag.dags["sendgrid_extract_load"].test(logical_date=as_of)
        if transform_dag:
            transform_state = str(bag.dags["sendgrid_transform"].test().state)
        else:
            proc, _ = run_dbt(target, work, "build", *as_of_vars(as_of), check=False)
            transform_state = "success" if proc.returncode == 0 else proc.stdout[-4000:]
        yield PipelineRun(
            target=target,
            truth=sim.control.truth(),
            accounts=sim.accounts,
            extract_state=str(extract.state),
            transform_state=transform_state,
            as_of=as_of,
        )


@pytest.fixture(scope="session")
def pipeline(
    airflow_home: Path, postgres_server: PostgresTarget, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PipelineRun]:
    """The base run: both DAGs for real, the simulator's clock at ``BASE_CLOCK``."""
    work = tmp_path_factory.mktemp("e2e_base")
    with _run_pipeline(postgres_server, BASE_CLOCK, work, transform_dag=True) as run:
        yield run


@pytest.fixture(scope="session", params=SHIFTS, ids=lambda d: f"clock{d:+d}d")
def pipeline_at(
    request: pytest.FixtureRequest,
    postgres_server: PostgresTarget,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PipelineRun]:
    """A run with the clock moved ``param`` days from ``BASE_CLOCK`` (0: the base run)."""
    if request.param == 0:
        yield request.getfixturevalue("pipeline")
        return
    request.getfixturevalue("airflow_home")
    clock = BASE_CLOCK + dt.timedelta(days=request.param)
    work = tmp_path_factory.mktemp(f"e2e_{request.param:+d}")
    with _run_pipeline(postgres_server, clock, work, transform_dag=False) as run:
        yield run


def query(target: PostgresTarget, statement: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of ``statement`` as dicts."""
    from psycopg.rows import dict_row

    with psycopg.connect(target.conninfo(), row_factory=dict_row) as conn:
        return conn.execute(statement, args or None).fetchall()
