"""Tenants in batches: at most ``EXTRACT_MAX_BATCHES`` task instances, failures stay per tenant."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from sendgrid_elt import batches, settings
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import connection_json, staged_keys

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.mark.parametrize(
    ("tenants", "max_batches", "sizes"),
    [
        (1000, 32, [32] * 8 + [31] * 24),
        (100, 32, [4] * 4 + [3] * 28),
        (3, 32, [1, 1, 1]),
        (7, 2, [4, 3]),
        (0, 32, []),
    ],
)
def test_split_into_at_most_max_batches(tenants: int, max_batches: int, sizes: list[int]) -> None:
    ids = [f"t{i:04d}" for i in range(tenants)]
    out = batches.split(ids, max_batches)
    assert [len(b) for b in out] == sizes
    assert [t for b in out for t in b] == ids  # every tenant once, order kept


def test_split_default_is_the_setting_and_rejects_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "EXTRACT_MAX_BATCHES", 5)
    assert len(batches.split([str(i) for i in range(12)])) == 5
    with pytest.raises(ValueError, match="at least 1"):
        batches.split(["a"], 0)


def test_split_never_makes_more_batches_than_airflow_maps(monkeypatch: pytest.MonkeyPatch) -> None:
    """``SENDGRID_EXTRACT_MAX_BATCHES`` above ``[core] max_map_length``: the mapped task would
    refuse the list; the batches grow instead."""
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "4")
    out = batches.split([str(i) for i in range(12)], 32)
    assert [len(b) for b in out] == [3, 3, 3, 3]


def test_label_names_the_first_tenant_and_counts_the_rest() -> None:
    assert batches.label(["acme", "bluebird", "cedar"]) == "acme +2"
    assert batches.label(["acme"]) == "acme"


@pytest.mark.slow
def test_failing_tenant_fails_only_its_batch_and_a_retry_extracts_only_it(
    airflow_home, warehouse, sim, tenant_conns, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setattr(settings, "EXTRACT_MAX_BATCHES", 1)  # the three tenants in one batch
    monkeypatch.setenv("SENDGRID_EXTRACT_MAX_BATCHES", "1")
    cedar = sim.accounts["tenants"][2]["api_keys"]
    assert sim.control.revoke_key(cedar["restricted"])
    bag = DagBag(dag_folder=str(DAGS / "sendgrid_extract_load.py"))
    dag = bag.dags[settings.EXTRACT_DAG_ID]

    # this test's tenants only (other tests' session fixtures may define more connections)
    dr = dag.test(run_conf={"tenants": ["acme", "bluebird", "cedar"]})

    assert dr.state == "failed"
    states = {(ti.task_id, ti.map_index): ti.state for ti in dr.get_task_instances()}
    assert states[("extract_load", 0)] == "failed"
    assert states[("publish_staging_asset", -1)] == "success"  # the others' data is published
    rows = batches.run_tenants(dr.run_id)
    assert {t: r["status"] for t, r in rows.items()} == {
        "acme": "ok",
        "bluebird": "ok",
        "cedar": "failed",
    }
    assert {r["batch"] for r in rows.values()} == {0}
    assert rows["acme"]["records"] > 0
    assert rows["acme"]["requests"] > 0
    assert "cedar" not in (rows["acme"]["error"] or "")
    assert cedar["restricted"] not in rows["cedar"]["error"]  # scrubbed
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        assert staged_keys(conn, "acme", "teammates")
        assert staged_keys(conn, "bluebird", "teammates")
        assert staged_keys(conn, "cedar", "teammates") == []

    # Clearing the batch: only cedar runs again; with a working key it is loaded this time.
    monkeypatch.setenv("AIRFLOW_CONN_CEDAR", connection_json(sim, 2, "full"))
    called: list[str] = []

    def spy(tenant_id: str, run_id: str, **kwargs):
        from sendgrid_elt.extract_load import load_tenant

        called.append(tenant_id)
        return load_tenant(tenant_id, run_id, **kwargs)

    before = sim.control.request_counts()["by_tenant"]
    summary = batches.run_batch(["acme", "bluebird", "cedar"], dr.run_id, loader=spy)
    after = sim.control.request_counts()["by_tenant"]
    assert called == ["cedar"]
    assert summary["tenants"] == {"acme": "ok", "bluebird": "ok", "cedar": "ok"}
    acme_sim = sim.accounts["tenants"][0]["tenant_id"]
    assert after.get(acme_sim) == before.get(acme_sim)  # acme not read again
    again = batches.run_tenants(dr.run_id)
    assert again["cedar"]["status"] == "ok"
    assert again["cedar"]["error"] is None
    assert again["acme"]["started_at"] == rows["acme"]["started_at"]
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        assert staged_keys(conn, "cedar", "teammates")
        count = conn.execute(
            f'select count(*) from "{STAGING_SCHEMA}".extract_run_tenants where run_id = %s',  # noqa: S608
            (dr.run_id,),
        ).fetchone()[0]
    assert count == 3


@pytest.mark.slow
def test_tenants_of_a_batch_run_concurrently(warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from sendgrid_elt.staging_schema import ensure_schema_url

    ensure_schema_url(warehouse.sqlalchemy_url())
    barrier = threading.Barrier(3, timeout=10)

    def loader(tenant_id: str, run_id: str, **kwargs):
        barrier.wait()  # only passes when the three tenants run at the same time
        time.sleep(0.01)
        if tenant_id == "b":
            raise RuntimeError("boom")
        return {"tenant_id": tenant_id, "requests": 2, "streams": {"x": {"records": 5}}}

    with pytest.raises(batches.BatchFailed) as info:
        batches.run_batch(["a", "b", "c"], "run-1", batch_index=4, threads=3, loader=loader)
    assert info.value.failed == {"b": "RuntimeError: boom"}
    rows = batches.run_tenants("run-1")
    assert {t: (r["status"], r["batch"], r["records"]) for t, r in rows.items()} == {
        "a": ("ok", 4, 5),
        "b": ("failed", 4, 0),
        "c": ("ok", 4, 5),
    }


def test_tenants_a_killed_batch_never_finished_read_as_not_done(warehouse) -> None:
    """The batch task dies mid-batch (SIGKILL, a heartbeat timeout: here an exception no
    tenant guard catches): the tenants it had not finished keep a ``running`` row saying so,
    and the run's published summary counts them failed. Before, they had no row at all, and
    the summary said nothing failed."""
    from sendgrid_elt.publish import staging_summary
    from sendgrid_elt.staging_schema import ensure_schema_url

    ensure_schema_url(warehouse.sqlalchemy_url())

    class Killed(BaseException):
        pass

    def loader(tenant_id: str, run_id: str, **kwargs):
        if tenant_id != "a":  # the task dies while b runs: c never finishes either
            raise Killed
        return {"tenant_id": tenant_id, "requests": 1, "streams": {"x": {"records": 5}}}

    with pytest.raises(Killed):
        batches.run_batch(["a", "b", "c"], "run-k", batch_index=2, threads=1, loader=loader)
    rows = batches.run_tenants("run-k")
    assert {t: (r["status"], r["batch"]) for t, r in rows.items()} == {
        "a": ("ok", 2),
        "b": ("running", 2),
        "c": ("running", 2),
    }
    assert rows["c"]["error"] == batches.UNFINISHED
    summary = staging_summary("run-k")
    assert summary["tenant_outcomes"] == {"ok": 1, "running": 2}
    assert summary["failed_tenants"] == {"count": 2, "first": ["b", "c"]}
    # the retry extracts only those two, and their rows tell how it went
    batches.run_batch(["a", "b", "c"], "run-k", batch_index=2, threads=1,
                      loader=lambda t, r, **kw: {"tenant_id": t, "streams": {}})  # fmt: skip
    assert {t: r["status"] for t, r in batches.run_tenants("run-k").items()} == {
        "a": "ok",
        "b": "ok",
        "c": "ok",
    }


def test_the_tasks_timeout_ends_the_batch_without_waiting_for_a_stuck_tenant(warehouse) -> None:
    """Airflow's execution_timeout is raised in the task's main thread: the batch ends then,
    leaving a tenant stuck past its budget (a DNS lookup, a lock wait) behind, and starts no
    other. Before, leaving the thread pool waited for the stuck tenant, so the task ran on."""
    import signal
    import threading

    from sendgrid_elt.staging_schema import ensure_schema_url

    ensure_schema_url(warehouse.sqlalchemy_url())
    release, finished, started = threading.Event(), [], []

    class TaskTimeout(BaseException):
        pass

    def loader(tenant_id: str, run_id: str, **kwargs):
        started.append(tenant_id)
        signal.setitimer(signal.ITIMER_REAL, 0.3)  # the task's timeout, while a is stuck
        release.wait(10)  # stuck
        finished.append(tenant_id)
        return {"tenant_id": tenant_id, "streams": {}}

    def timeout(signum, frame):
        raise TaskTimeout

    previous = signal.signal(signal.SIGALRM, timeout)
    try:
        with pytest.raises(TaskTimeout):
            batches.run_batch(["a", "b"], "run-t", threads=1, loader=loader)
        assert (started, finished) == (["a"], [])  # ended while a was stuck; b never started
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        release.set()
    assert batches.run_tenants("run-t")["b"]["status"] == "running"  # never started


def test_a_thread_reuses_its_warehouse_connection_and_replaces_a_spoiled_one(warehouse) -> None:
    from sendgrid_elt.extract_load import TenantWarehouse

    held = TenantWarehouse()
    try:
        first = held.connection()
        pid = first.info.backend_pid
        assert held.connection() is first  # the next tenant of the thread: same backend
        first.execute("begin")  # a tenant left a transaction open
        second = held.connection()
        assert second is not first
        assert first.closed
        assert second.info.backend_pid != pid
        second.close()  # or the connection was lost
        third = held.connection()
        assert third is not second
        assert third.execute("select 1").fetchone() == (1,)
        assert held.engine() is held.engine()
    finally:
        held.close()
    assert third.closed


def test_a_tenant_s_row_keeps_what_it_loaded_and_a_stale_try_never_overwrites_ok(
    warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant failing on one stream counts the records its other streams loaded (it showed
    0); a warehouse session that cannot open fails its tenant, not the batch (the others were
    cancelled without a row); a zombie try's late ``failed`` leaves a retry's ``ok`` alone."""
    from sendgrid_elt import extract_load
    from sendgrid_elt.staging_schema import ensure_schema_url
    from sendgrid_elt.stream_outcome import StreamOutcome, StreamsFailed

    ensure_schema_url(warehouse.sqlalchemy_url())
    opened = []

    class FlakyWarehouse(extract_load.TenantWarehouse):
        def __init__(self) -> None:
            opened.append(self)
            if len(opened) == 1:
                raise ConnectionError("the execution API did not answer")
            super().__init__()

    monkeypatch.setattr(extract_load, "TenantWarehouse", FlakyWarehouse)

    def loader(tenant_id: str, run_id: str, **kwargs):
        if tenant_id == "b":
            outcomes = {"bounces": StreamOutcome("bounces", "ok", records=7, requests=3),
                        "stats": StreamOutcome("stats", "error", requests=2)}  # fmt: skip
            raise StreamsFailed("stats failed", outcomes)
        return {"tenant_id": tenant_id, "requests": 1, "streams": {"x": {"records": 5}}}

    with pytest.raises(batches.BatchFailed) as info:
        batches.run_batch(["a", "b", "c"], "run-2", batch_index=0, threads=1, loader=loader)
    assert set(info.value.failed) == {"a", "b"}
    assert "ConnectionError" in info.value.failed["a"]
    rows = batches.run_tenants("run-2")
    assert {t: (r["status"], r["records"], r["requests"]) for t, r in rows.items()} == {
        "a": ("failed", 0, 0),
        "b": ("failed", 7, 5),
        "c": ("ok", 5, 1),
    }
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        batches._record(conn, {**rows["c"], "status": "failed", "error": "zombie"})
    assert batches.run_tenants("run-2")["c"]["status"] == "ok"


def test_a_tenant_cut_short_by_slower_neighbours_is_retried_not_partial(warehouse) -> None:
    """One thread, a 3 s batch budget: ``a`` uses 2 s of it, ``b`` starts with 1 s left and
    runs out. ``b`` did not have a full budget: it is ``failed`` (the batch's retry runs it
    with a fresh budget), not ``partial`` (left for tomorrow). ``c`` started with the full
    budget and ran out of it: ``partial``."""
    import time

    from sendgrid_elt.staging_schema import ensure_schema_url
    from sendgrid_elt.stream_outcome import StreamOutcome
    from sendgrid_elt.time_budget import TimeBudgetEnded

    ensure_schema_url(warehouse.sqlalchemy_url())

    def loader(tenant_id: str, run_id: str, time_budget: float | None = None, **kwargs):
        if tenant_id == "a":
            time.sleep(2)
            return {"tenant_id": "a", "requests": 1, "streams": {}}
        time.sleep(min(time_budget or 0, 3))
        outcome = StreamOutcome("bounces", "error", detail="time budget used up")
        raise TimeBudgetEnded("not finished: bounces", {"bounces": outcome})

    with pytest.raises(batches.BatchFailed) as info:
        batches.run_batch(["a", "b"], "run-cut", threads=1, time_budget=3, loader=loader)
    assert set(info.value.failed) == {"b"}
    assert "retried" in batches.run_tenants("run-cut")["b"]["error"]
    summary = batches.run_batch(["c"], "run-full", threads=1, time_budget=0.5, loader=loader)
    assert summary["tenants"] == {"c": "partial"}
