"""One real pipeline run per test session: simulator → extract DAG → transform DAG → marts.

Both DAGs run for real with ``dag.test()`` against the simulator (``tiny`` scale, fixed clock,
so the ground truth is fixed) and a fresh PostgreSQL database.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from sendgrid_elt.postgres_target import PostgresTarget

REPO_ROOT = Path(__file__).resolve().parents[2]
CLOCK = dt.date(2026, 11, 28)
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


@pytest.fixture(scope="session")
def pipeline(airflow_home: Path, postgres_server: PostgresTarget) -> Iterator[PipelineRun]:
    from airflow.dag_processing.dagbag import DagBag

    from sendgrid_simulator.testing import run_simulator

    name = f"e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    target = postgres_server.with_database(name)
    try:
        with (
            run_simulator(seed=42, scale="tiny", clock=CLOCK) as sim,
            pytest.MonkeyPatch.context() as mp,
        ):
            mp.setenv("AIRFLOW_CONN_SENDGRID_WAREHOUSE", target.airflow_connection_json())
            for conn_id, (index, kind) in TENANTS.items():
                mp.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", _connection(sim, index, kind))
            bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
            assert bag.import_errors == {}
            extract = bag.dags["sendgrid_extract_load"].test()
            transform = bag.dags["sendgrid_transform"].test()
            yield PipelineRun(
                target=target,
                truth=sim.control.truth(),
                accounts=sim.accounts,
                extract_state=str(extract.state),
                transform_state=str(transform.state),
            )
    finally:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


def query(target: PostgresTarget, statement: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of ``statement`` as dicts."""
    from psycopg.rows import dict_row

    with psycopg.connect(target.conninfo(), row_factory=dict_row) as conn:
        return conn.execute(statement, args or None).fetchall()
