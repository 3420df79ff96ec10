"""A server echoing each tenant's API key in an error: no key anywhere after a DAG run.

The simulator answers one stream of every tenant with a 400 whose message repeats the keys (bare
and as a bearer header; the switch's message is one text, so each tenant also sees the other
tenants' keys, masked as SendGrid keys by their shape). The run is made through
the demo's runner (real task logs the UI reads), then every place a key could end up is read:
the task logs, every table of the metadata database (XCom, asset events, rendered fields, notes,
the event log; connections and Variables excepted: they hold credentials by design) and every
table of the warehouse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from .conftest import TENANTS

DAGS = Path(__file__).resolve().parents[2] / "dags"
pytestmark = pytest.mark.slow
#: Metadata tables that hold credentials by design (the Connect page's, the OAuth token store).
BY_DESIGN = {"connection", "variable"}


def _dag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "sendgrid_extract_load.py"))
    assert bag.import_errors == {}
    return bag.dags["sendgrid_extract_load"]


def _needles(sim: Any) -> dict[str, str]:
    found = {}
    for conn_id, (index, kind) in TENANTS.items():
        key = sim.accounts["tenants"][index]["api_keys"][kind]
        secret = key.split(".")[2]
        found |= {f"{conn_id} key": key, f"{conn_id} secret head": secret[:21],
                  f"{conn_id} secret tail": secret[21:]}  # fmt: skip
    return found


def _task_logs(result: Any) -> str:
    from airflow.models import TaskInstance
    from airflow.utils.log.log_reader import TaskLogReader
    from airflow.utils.session import create_session

    reader, texts = TaskLogReader(), []
    with create_session() as session:
        tis = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == result.dag_id, TaskInstance.run_id == result.run_id)
            .all()
        )
        for ti in tis:
            chunks, _ = reader.read_log_chunks(ti, ti.try_number, {})
            texts += [str(getattr(line, "event", line)) for line in chunks if line is not None]
    return "\n".join(texts)


def _metadata_rows() -> dict[str, str]:
    from airflow.utils.session import create_session
    from sqlalchemy import MetaData, select

    out = {}
    with create_session() as session:
        meta = MetaData()
        meta.reflect(bind=session.get_bind())
        for name, table in meta.tables.items():
            if name not in BY_DESIGN:
                out[name] = "\n".join(repr(tuple(r)) for r in session.execute(select(table)))
    return out


def _warehouse_rows(target: Any) -> dict[str, str]:
    out = {}
    with psycopg.connect(target.conninfo(), autocommit=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            rows = conn.execute(f'select x::text from "{schema}"."{table}" x').fetchall()  # noqa: S608
            out[f"{schema}.{table}"] = "\n".join(r[0] for r in rows)
    return out


def test_a_key_echoed_in_an_error_is_nowhere_after_the_run(
    airflow_home, warehouse, sim, tenant_conns, hostile
) -> None:
    from sendgrid_demo.runner import run_dag, without_retries

    needles = _needles(sim)
    keys = [v for k, v in needles.items() if k.endswith(" key")]
    echo = " | ".join(f"bad key {k} (Authorization: Bearer {k})" for k in keys)
    hostile(paths=["/v3/alerts"], answer_status=400, answer_message=echo)
    result = run_dag(without_retries(_dag()), {"streams": ["alerts", "teammates"]}, printer=print)
    assert result.state in ("success", "failed"), result.tasks
    haystacks = {"task logs": _task_logs(result), **_metadata_rows(), **_warehouse_rows(warehouse)}
    assert "stream_status" in " ".join(haystacks)  # the warehouse was read
    assert "bad key ***" in haystacks["sendgrid_staging.stream_status"]  # the error is kept
    leaks = [
        (where, what)
        for where, text in haystacks.items()
        for what, needle in needles.items()
        if needle in text
    ]
    assert leaks == [], leaks
