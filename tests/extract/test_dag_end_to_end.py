"""``dag.test()`` of ``sendgrid_extract_load`` against the simulator and a real PostgreSQL."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import psycopg
import pytest

from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import assert_matches_truth, connection_json, staged_keys, statuses

DAGS = Path(__file__).resolve().parents[2] / "dags"
pytestmark = pytest.mark.slow


def _dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "sendgrid_extract_load.py"))
    assert bag.import_errors == {}
    return bag.dags["sendgrid_extract_load"]


def _run(dag, **conf):
    dr = dag.test(run_conf=conf or None)
    return dr


def _snapshot(conn) -> dict:
    out = {}
    from sendgrid_elt import catalog

    streams = [spec.name for spec in catalog.STREAMS]
    for (table,) in conn.execute(
        "select table_name from information_schema.tables where table_schema = %s "
        "and table_name = any(%s)",  # the stream tables, not the bookkeeping ones
        (STAGING_SCHEMA, streams),
    ).fetchall():
        out[table] = conn.execute(
            f"select tenant_id, subuser, parent_key, record_key, record_hash, is_current, "  # noqa: S608
            f'deleted_at is not null from "{STAGING_SCHEMA}"."{table}" order by 1, 2, 3, 4, 5'
        ).fetchall()
    return out


def test_end_to_end_truth_rerun_and_advance(airflow_home, warehouse, sim, tenant_conns) -> None:
    dag = _dag()
    dr = _run(dag)
    assert dr.state == "success", dr.state
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        assert_matches_truth(conn, sim.control.truth(), tenant_conns)
        first = _snapshot(conn)
        requests_before = sim.control.request_counts()["total"]

        # same interval again: nothing changes
        assert _run(dag).state == "success"
        second = _snapshot(conn)
        diff = {t: (set(r) ^ set(first[t])) for t, r in second.items() if r != first[t]}
        assert diff == {}
        assert sim.control.request_counts()["total"] > requests_before

        # one simulated day later: new suppressions and stats days, a teammate joins, keys go
        changes = sim.control.advance(days=1)["changes"]
        assert _run(dag).state == "success"
        truth = sim.control.truth()
        assert_matches_truth(conn, truth, tenant_conns)
        deleted = {(c["tenant_id"], c["deleted"], c["id"]) for c in changes if "deleted" in c}
        assert deleted
        for tenant_sim_id, what, key in deleted:
            conn_id = _conn_id(truth, tenant_sim_id, tenant_conns)
            stream = {"api_key": "api_keys", "teammate": "teammates"}[what]
            row = conn.execute(
                f'select deleted_at is not null from "{STAGING_SCHEMA}"."{stream}" '  # noqa: S608
                "where tenant_id = %s and subuser = '' and record_key = %s and is_current",
                (conn_id, key),
            ).fetchone()
            if stream == "api_keys" and conn_id == "cedar":
                continue  # its restricted key cannot read api_keys
            assert row == (True,), (conn_id, stream, key)
        # late opens: the last days' stats were updated in place, one row per day
        days = staged_keys(conn, "acme", "global_stats")
        assert len(days) == len(set(days))


def _conn_id(truth: dict, tenant_sim_id: str, tenants: dict) -> str:
    index = next(i for i, t in enumerate(truth["tenants"]) if t["tenant_id"] == tenant_sim_id)
    return next(c for c, (i, _) in tenants.items() if i == index)


def test_partial_rerun_and_statuses(airflow_home, warehouse, sim, tenant_conns) -> None:
    dag = _dag()
    dr = _run(dag, tenants=["bluebird"], streams=["teammates", "singlesends", "bounces"])
    assert dr.state == "success"
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        assert statuses(conn, "bluebird") == {
            "teammates": "ok",
            "singlesends": "not_licensed",
            "bounces": "ok",
        }
        assert statuses(conn, "acme") == {}


def test_an_unknown_stream_in_the_params_fails_the_run_once(
    airflow_home, warehouse, sim, tenant_conns
) -> None:
    """A typo in the ``streams`` param fails the discovery, once, naming the stream: no batch
    runs. Before, every tenant failed with a KeyError, each batch four times over."""
    dag = _dag()
    dr = _run(dag, tenants=["bluebird"], streams=["bounce"])
    assert dr.state == "failed"
    tis = {ti.task_id: ti for ti in dr.get_task_instances()}
    assert str(tis["list_tenants"].state) == "failed"
    assert tis["list_tenants"].try_number == 1
    assert str(tis["extract_load"].state) == "upstream_failed"
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        assert statuses(conn, "bluebird") == {}


def test_demo_runs_leave_the_task_logs_the_ui_reads(airflow_home, warehouse, sim, tenant_conns):
    """``dag.test()`` writes no task log; the demo's runner does, where the UI reads them."""
    from airflow.models import TaskInstance
    from airflow.utils.log.log_reader import TaskLogReader
    from airflow.utils.session import create_session

    from sendgrid_demo.runner import run_dag

    result = run_dag(_dag(), {"tenants": ["bluebird"], "streams": ["teammates"]}, printer=print)
    assert result.state == "success", result.tasks
    reader = TaskLogReader()
    with create_session() as session:
        tis = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == result.dag_id, TaskInstance.run_id == result.run_id)
            .all()
        )
        logs = {}
        for ti in tis:
            chunks, _ = reader.read_log_chunks(ti, ti.try_number, {})
            logs[ti.task_id] = "\n".join(
                getattr(line, "event", str(line)) for line in chunks if line is not None
            )
    assert set(logs) == {t.task_id for t in tis}
    assert len(logs) >= 3
    assert all("Log file not found" not in text for text in logs.values()), logs
    # the extract's progress at INFO: per tenant and stream, pages, records and seconds (a
    # batch's tenants share one log)
    assert re.search(
        r"tenant bluebird: stream teammates done: pages=\d+ records=\d+ .* elapsed=",
        logs["extract_load"],
    )
    assert "Task instance in success state" in logs["extract_load"]
    # the batch log names its tenant with its outcome, and the UI label is the batch's tenants
    assert re.search(
        r"tenant bluebird: ok in [\d.]+s \(\d+ records, \d+ requests\)", logs["extract_load"]
    )
    assert "extract_load[bluebird]" in result.tasks, result.tasks


def test_demo_task_logs_mask_secrets_like_airflow_does(tmp_path) -> None:
    """A secret Airflow knows of (a connection password, a masked value) never reaches the file."""
    from airflow.sdk.log import mask_secret

    from sendgrid_demo.task_logs import _JsonLines

    secret = "SG.demo-log-secret.0123456789abcdefghij"
    mask_secret(secret)
    handler = _JsonLines(tmp_path / "attempt=1.log")
    handler.emit(logging.makeLogRecord({"msg": "calling with %s", "args": (secret,)}))
    handler.close()
    (line,) = (tmp_path / "attempt=1.log").read_text().splitlines()
    assert secret not in line
    assert "calling with ***" in line


def test_a_deleted_connection_is_marked_removed_and_comes_back(
    airflow_home, warehouse, sim, tenant_conns, monkeypatch
) -> None:
    """A full run that no longer finds a tenant marks it removed (its data stays); a partial
    run leaves the marks alone; the connection created again clears it."""
    dag = _dag()
    quick = {"streams": ["user_account"], "tenants": []}  # dag.test() keeps the last conf

    def removed() -> dict[str, bool]:
        """This test's tenants (other modules' may be discovered too, from the Variable)."""
        with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
            rows = conn.execute(
                f'select tenant_id, removed_at is not null from "{STAGING_SCHEMA}".tenants'  # noqa: S608
            ).fetchall()
        return {tenant: gone for tenant, gone in rows if tenant in tenant_conns}

    assert _run(dag, **quick).state == "success"
    assert removed() == dict.fromkeys(tenant_conns, False)
    saved = {"AIRFLOW_CONN_CEDAR": connection_json(sim, *tenant_conns["cedar"])}
    monkeypatch.delenv("AIRFLOW_CONN_CEDAR")
    assert _run(dag, **quick).state == "success"
    assert removed() == {**dict.fromkeys(tenant_conns, False), "cedar": True}
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        (kept,) = conn.execute(
            f'select count(*) from "{STAGING_SCHEMA}".stream_status where tenant_id = %s',  # noqa: S608
            ("cedar",),
        ).fetchone()
    assert kept > 0  # nothing of its data is deleted
    assert _run(dag, **{**quick, "tenants": ["acme"]}).state == "success"
    assert removed()["cedar"] is True  # a partial run says nothing about the others
    monkeypatch.setenv("AIRFLOW_CONN_CEDAR", saved["AIRFLOW_CONN_CEDAR"])
    assert _run(dag, **quick).state == "success"
    assert removed() == dict.fromkeys(tenant_conns, False)
