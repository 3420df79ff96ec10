"""A broken server or a second run never stalls a tenant, nor corrupts its staging data.

``load_tenant`` (the extract task's body) against the simulator with its hostile switches and a
real PostgreSQL: an oversized stream fails alone, a tenant out of time ends cleanly with its state
saved, and a second run of the same tenant skips it while the first holds its lock.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sendgrid_elt.extract_load import load_tenant, prepare_staging
from sendgrid_elt.settings import STAGING_SCHEMA
from sendgrid_elt.stream_outcome import StreamsFailed
from sendgrid_elt.tenant_lock import KEEPALIVES, application_name, holder, tenant_lock
from sendgrid_elt.time_budget import time_budget_for
from sendgrid_simulator.hostile import configure

from .conftest import connection_json, staged_keys

pytestmark = pytest.mark.usefixtures("airflow_home")
STREAMS = ["teammates", "bounces", "blocks"]  # catalog order
BOUNCES = "/v3/suppression/bounces"


@pytest.fixture
def acme(sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Tenant ``acme`` on the simulator, staging ready; yields a warehouse connection."""

    def define(**extra: Any) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0, **extra))

    define()
    prepare_staging()
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        conn.define = define  # type: ignore[attr-defined]
        yield conn


def _status(conn: psycopg.Connection) -> dict[str, tuple[str, str | None]]:
    rows = conn.execute(
        f'select stream, status, detail from "{STAGING_SCHEMA}".stream_status '  # noqa: S608
        "where tenant_id = 'acme'"
    ).fetchall()
    return {stream: (status, detail) for stream, status, detail in rows}


def _matches_truth(sim: Any, conn: psycopg.Connection, stream: str) -> bool:
    truth = sim.control.truth()["tenants"][0]["streams"][stream]
    keys = staged_keys(conn, "acme", stream)
    wanted = sorted(str(k) for k in truth.get("primary_keys", keys))
    return len(keys) == truth["count"] and keys == wanted


def test_oversized_stream_fails_alone_and_the_others_load(sim: Any, acme: Any) -> None:
    acme.define(max_response_bytes=256 * 1024)
    configure(sim.base_url, paths=[BOUNCES], pad_bytes=1024 * 1024)
    with pytest.raises(StreamsFailed, match="bounces"):
        load_tenant("acme", "run_big", streams=STREAMS)
    status = _status(acme)
    assert status["bounces"][0] == "error"
    assert "over the 262,144-byte cap (max_response_bytes" in status["bounces"][1]
    for stream in ("teammates", "blocks"):
        assert status[stream] == ("ok", None)
        assert _matches_truth(sim, acme, stream)


def test_a_run_failing_before_its_streams_shows_in_health_and_alerts_once(
    sim: Any, acme: Any
) -> None:
    """``/v3/scopes`` answers 503 on every retry: no stream outcome says so, yet the tenant's
    health must (before, a new tenant had no health row and a known one stayed connected): it
    is ``degraded`` with the error kept, alerted once over two runs, never counted as a
    success; the first run that reaches its streams clears it."""
    from sendgrid_elt.connection_health import health_engine, read_health

    acme.define(max_retries=1)
    configure(sim.base_url, paths=["/v3/scopes"], answer_status=503, answer_message="down")
    try:
        for run in ("run_down_1", "run_down_2"):
            with pytest.raises(Exception, match="503"):
                load_tenant("acme", run, streams=STREAMS)
            health = read_health(health_engine(), "acme")
            assert health is not None
            assert (health["status"], health["reason"]) == ("degraded", "run_failed")
            assert "503" in health["last_error"]
            assert health["last_success_at"] is None
            assert health["alerts_sent"] == 1, run  # one alert for the same problem
    finally:
        configure(sim.base_url)
    load_tenant("acme", "run_back", streams=STREAMS)
    health = read_health(health_engine(), "acme")
    assert health["status"] == "connected"
    assert health["stream_problems"] == {}


def test_time_budget_ends_the_tenant_cleanly_with_its_state_saved(sim: Any, acme: Any) -> None:
    acme.define(time_budget=4)  # the connection's budget (the task's is hours)
    configure(sim.base_url, paths=[BOUNCES], trickle_seconds=8)
    started = time.monotonic()
    with pytest.raises(StreamsFailed):
        load_tenant("acme", "run_slow", streams=STREAMS)
    elapsed = time.monotonic() - started
    assert elapsed < 6.5, f"the tenant ran {elapsed:.1f} s on a 4 s budget"
    status = _status(acme)
    assert status["teammates"] == ("ok", None)
    for stream in ("bounces", "blocks"):
        state, detail = status[stream]
        assert state == "error"
        assert "time budget of 4 s is used up" in detail, detail
    saved = acme.execute(
        f'select stream from "{STAGING_SCHEMA}".sync_state where tenant_id = %s '  # noqa: S608
        "and last_success_at is not null",
        ("acme",),
    ).fetchall()
    assert ("teammates",) in saved
    assert _matches_truth(sim, acme, "teammates")
    with tenant_lock(acme, "acme", "probe", wait=0) as free:
        assert free, "the tenant's lock outlived the run"
    acme.define()
    configure(sim.base_url)  # the retry, on a healthy server, converges
    load_tenant("acme", "run_retry", streams=STREAMS, time_budget=120)
    assert _matches_truth(sim, acme, "bounces")


def test_second_run_of_a_tenant_skips_while_the_first_holds_it(
    sim: Any, acme: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    from sendgrid_elt import settings

    monkeypatch.setattr(settings, "TENANT_LOCK_WAIT_SECONDS", 0.5, raising=False)
    configure(sim.base_url, paths=["/v3/teammates"], trickle_seconds=4)
    first: dict[str, Any] = {}

    def run_first() -> None:
        try:
            first["result"] = load_tenant("acme", "scheduled__first", streams=STREAMS)
        except BaseException as exc:
            first["error"] = exc

    thread = threading.Thread(target=run_first, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not sim.control.request_counts()["by_endpoint"].get("GET /v3/teammates"):
        assert time.monotonic() < deadline, "the first run never reached its extraction"
        time.sleep(0.05)  # the first run is now inside its (trickling) teammates request

    started = time.monotonic()
    with pytest.raises(AirflowSkipException, match="scheduled__first is extracting it"):
        load_tenant("acme", "manual__second", streams=STREAMS)  # waits 0.5 s (setting)
    assert time.monotonic() - started < 3
    thread.join(60)
    assert "error" not in first, first.get("error")
    runs = acme.execute(
        f'select distinct run_id from "{STAGING_SCHEMA}".stream_status',  # noqa: S608
    ).fetchall()
    assert runs == [("scheduled__first",)]  # the second run wrote nothing
    for stream in STREAMS:
        assert _matches_truth(sim, acme, stream)
    deleted = acme.execute(
        f'select count(*) from "{STAGING_SCHEMA}".teammates where deleted_at is not null'  # noqa: S608
    ).fetchone()[0]
    assert deleted == 0


def test_a_lock_held_by_an_earlier_try_of_the_same_run_fails_for_a_retry(acme: Any) -> None:
    """A zombie try of this same run (heartbeat lost, process alive) still holds the tenant:
    skipping would end the run green without it; the tenant fails instead, so the batch's
    retry extracts it once the lock is free. Another run's lock still means a skip."""
    from airflow.sdk.exceptions import AirflowSkipException

    from sendgrid_elt.tenant_lock import TenantBusy

    with tenant_lock(acme, "acme", "scheduled__same", wait=0) as held:
        assert held
        with pytest.raises(TenantBusy, match="an earlier try of run scheduled__same"):
            load_tenant("acme", "scheduled__same", streams=STREAMS, lock_wait=0.2)
        with pytest.raises(AirflowSkipException, match="scheduled__same is extracting it"):
            load_tenant("acme", "manual__other", streams=STREAMS, lock_wait=0.2)


def test_tenant_lock_waits_bounded_and_dies_with_its_session(warehouse: Any) -> None:
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as other:
        first = psycopg.connect(warehouse.conninfo(), autocommit=True)
        with tenant_lock(first, "t1", "run_a", wait=0) as got:
            assert got
            started = time.monotonic()
            with tenant_lock(other, "t1", "run_b", wait=0.4) as second:
                assert not second
            assert 0.35 < time.monotonic() - started < 2
            assert holder(other, "t1") == application_name("t1", "run_a")
            with tenant_lock(other, "t2", "run_b", wait=0) as different_tenant:
                assert different_tenant
            first.close()  # the worker died: its session, and the lock, are gone
            with tenant_lock(other, "t1", "run_b", wait=2) as after:
                assert after
                assert holder(other, "t1") == application_name("t1", "run_b")
            assert holder(other, "t1") is None


def test_tenant_lock_session_drops_a_vanished_worker_host(warehouse: Any) -> None:
    """A worker host that dies silently loses the lock in minutes: the session keeps TCP alive."""
    with (
        psycopg.connect(warehouse.conninfo(), autocommit=True) as conn,
        tenant_lock(conn, "t1", "run_a", wait=0) as got,
    ):
        assert got
        rows = conn.execute(
            "select name, source from pg_settings where name = any(%s)", (list(KEEPALIVES),)
        ).fetchall()
    # Set for the session (on a Unix socket the server keeps the setting and ignores it).
    assert dict(rows) == dict.fromkeys(KEEPALIVES, "session")


def test_extract_task_has_an_execution_timeout_the_budget_fits_in() -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag_file = Path(__file__).resolve().parents[2] / "dags" / "sendgrid_extract_load.py"
    task = DagBag(dag_folder=str(dag_file)).dags["sendgrid_extract_load"].get_task("extract_load")
    assert task.execution_timeout is not None, "a stuck tenant would hold its pool slot forever"

    from sendgrid_elt.settings import EXTRACT_TASK_TIMEOUT
    from sendgrid_elt.time_budget import task_timeout

    assert task.execution_timeout == EXTRACT_TASK_TIMEOUT
    assert task_timeout({"task": task}) == EXTRACT_TASK_TIMEOUT
    total = EXTRACT_TASK_TIMEOUT.total_seconds()
    budget = time_budget_for(task.execution_timeout)
    assert 0.5 * total <= budget <= total - 300
