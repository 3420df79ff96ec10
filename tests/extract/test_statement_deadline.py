"""A warehouse statement that cannot finish never holds its tenant (and so its task) forever.

``load_tenant`` against the simulator and a real PostgreSQL while another session holds an
``ACCESS EXCLUSIVE`` lock on the ``bounces`` table (an administrator's ``LOCK``, a migration):

* the lock wait ends after ``SENDGRID_WAREHOUSE_LOCK_TIMEOUT_SECONDS``; only that stream fails,
  naming the lock wait, and the other streams load;
* with no lock timeout, the statement still running when the tenant's time budget ended (plus
  the grace) is canceled, and the stream says so.

Before, both runs waited for the lock as long as it was held: past the budget and past the
task's ``execution_timeout``, which cannot stop a tenant thread. Each test releases the lock
after :data:`RELEASE_AFTER` seconds, so the old code finished, late and with ``bounces`` ok.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from sendgrid_elt import settings, statement_deadline
from sendgrid_elt.extract_load import load_tenant, prepare_staging
from sendgrid_elt.settings import STAGING_SCHEMA
from sendgrid_elt.stream_outcome import StreamsFailed

from .conftest import connection_json, statuses

pytestmark = pytest.mark.usefixtures("airflow_home")
STREAMS = ["teammates", "bounces"]
RELEASE_AFTER = 25.0


@pytest.fixture
def tenant(sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Tenant ``acme``, staging ready; yields an autocommit warehouse connection."""
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    prepare_staging()
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        yield conn


@pytest.fixture
def locked_bounces(tenant: psycopg.Connection, warehouse: Any) -> Iterator[Any]:
    """Another session holds the ``bounces`` table until released (at RELEASE_AFTER at last).

    Yields the release (a function).
    """
    holder = psycopg.connect(warehouse.conninfo())
    holder.execute(f'lock table "{STAGING_SCHEMA}".bounces in access exclusive mode')
    release = threading.Timer(RELEASE_AFTER, holder.rollback)
    release.start()
    try:
        yield holder.rollback
    finally:
        release.cancel()
        holder.close()


@pytest.mark.usefixtures("locked_bounces")
def test_a_lock_wait_fails_only_its_stream_then_the_rerun_converges(
    tenant: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "WAREHOUSE_LOCK_TIMEOUT_SECONDS", 1.0)
    started = time.monotonic()
    with pytest.raises(StreamsFailed, match="bounces"):
        load_tenant("acme", "run_locked", streams=STREAMS)
    assert time.monotonic() - started < RELEASE_AFTER - 10
    assert statuses(tenant, "acme") == {"teammates": "ok", "bounces": "error"}
    detail = statuses(tenant, "acme", "detail")["bounces"]
    assert detail.startswith("LockNotAvailable (a warehouse statement waited longer than its "
                             "lock timeout"), detail  # fmt: skip
    assert (
        tenant.execute(
            f'select count(*) from "{STAGING_SCHEMA}".teammates'  # noqa: S608
        ).fetchone()[0]
        > 0
    )


def test_the_rerun_after_the_lock_is_released_loads_every_stream(
    tenant: psycopg.Connection, locked_bounces: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "WAREHOUSE_LOCK_TIMEOUT_SECONDS", 1.0)
    with pytest.raises(StreamsFailed):
        load_tenant("acme", "run_1", streams=STREAMS)
    locked_bounces()
    load_tenant("acme", "run_1", streams=STREAMS)  # the task's retry
    assert statuses(tenant, "acme") == {"teammates": "ok", "bounces": "ok"}
    rows = tenant.execute(
        f'select count(*) from "{STAGING_SCHEMA}".bounces where tenant_id = %s',  # noqa: S608
        ("acme",),
    ).fetchone()[0]
    assert rows > 0


@pytest.mark.usefixtures("locked_bounces")
def test_a_statement_running_past_the_time_budget_is_canceled(
    tenant: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "WAREHOUSE_LOCK_TIMEOUT_SECONDS", 0)  # lock waits unbounded
    monkeypatch.setattr(statement_deadline, "GRACE_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(StreamsFailed, match="bounces"):
        load_tenant("acme", "run_budget", streams=["bounces"], time_budget=6.0)
    assert time.monotonic() - started < RELEASE_AFTER - 10
    detail = statuses(tenant, "acme", "detail")["bounces"]
    assert detail.startswith("QueryCanceled (a warehouse statement was canceled: the "
                             "tenant's time budget ended"), detail  # fmt: skip


@pytest.mark.usefixtures("warehouse")
def test_both_warehouse_sessions_carry_the_lock_timeout_set_after_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tenant's psycopg connection and engine both bound their lock waits, set once the
    session is open: not a libpq ``options`` startup parameter, which PgBouncer refuses."""
    from sendgrid_elt.extract_load import TenantWarehouse

    monkeypatch.setattr(settings, "WAREHOUSE_LOCK_TIMEOUT_SECONDS", 2.5)
    warehouse = TenantWarehouse()
    try:
        conn = warehouse.connection()
        assert conn.execute("show lock_timeout").fetchone()[0] == "2500ms"
        assert "options" not in conn.info.get_parameters()
        with warehouse.engine().connect() as session:
            session.rollback()  # the setting was committed: a rollback keeps it
            assert session.exec_driver_sql("show lock_timeout").scalar() == "2500ms"
    finally:
        warehouse.close()


def test_no_cancel_reaches_the_connection_after_the_block() -> None:
    """A deadline that fires while its block is being left sends its cancel before the block
    ends, never after: the thread's next tenant reuses the connection."""
    calls: list[str] = []
    entered, release = threading.Event(), threading.Event()

    class Conn:
        def cancel_safe(self, timeout: float) -> None:
            entered.set()
            release.wait(5)
            calls.append("cancel")

    deadline = statement_deadline.StatementDeadline(Conn(), 0.0, "acme", grace=0.0)
    with deadline:
        assert entered.wait(5)  # the timer fired and is sending its cancel
        leaving = threading.Thread(target=deadline.__exit__, args=(None, None, None))
        leaving.start()
        leaving.join(0.2)
        assert leaving.is_alive()  # the block's end waits for the cancel under way
        release.set()
        leaving.join(5)
    calls.append("next tenant")
    assert calls == ["cancel", "next tenant"]
    late = statement_deadline.StatementDeadline(Conn(), 0.05, "acme", grace=0.0)
    with late:
        pass
    time.sleep(0.2)
    assert not late.fired  # left before its time: never fires
