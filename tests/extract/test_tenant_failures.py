"""A tenant run that stops outside its streams still says so: health, one alert, a clear error.

``load_tenant`` (the extract task's body) against the simulator and a real PostgreSQL: a
connection whose extra is not JSON, a failure while reading the tenant's state. Each leaves the
tenant ``degraded`` with the problem named and one alert over two runs; a settings error is not
retried. And a stream's status saves whatever its detail holds.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from sendgrid_elt.extract_load import load_tenant, prepare_staging
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import connection_json, statuses

pytestmark = pytest.mark.usefixtures("airflow_home")
STREAMS = ["teammates", "bounces"]


@pytest.fixture
def acme(sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Tenant ``acme`` on the simulator, staging ready; yields a warehouse connection."""
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    prepare_staging()
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        yield conn


def _health() -> dict[str, Any]:
    from sendgrid_elt.connection_health import health_engine, read_health

    return read_health(health_engine(), "acme") or {}


def test_an_extra_that_is_not_json_is_recorded_alerted_once_and_not_retried(
    sim: Any, acme: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection's extra is not JSON: the settings cannot be read, no stream can run.
    Before, ``SendGridConfigError`` left the task with no trace in health and no alert, and
    Airflow retried a connection that reads the same on every try."""
    from airflow.sdk.exceptions import AirflowFailException

    load_tenant("acme", "run_ok", streams=STREAMS)  # known and connected first
    assert _health()["status"] == "connected"
    broken = json.loads(connection_json(sim, 0))
    broken["extra"] = '{"auth_type": "api_key", "display_name": "Acme"'  # cut short
    monkeypatch.setenv("AIRFLOW_CONN_ACME", json.dumps(broken))
    for run in ("run_bad_1", "run_bad_2"):
        with pytest.raises(AirflowFailException, match="extra: is not valid JSON") as raised:
            load_tenant("acme", run, streams=STREAMS)
        assert "not retried" in str(raised.value)
        health = _health()
        assert (health["status"], health["reason"]) == ("degraded", "run_failed"), health
        assert "extra: is not valid JSON" in health["last_error"]
        assert "extra: is not valid JSON" in health["stream_problems"]["(run)"]["detail"]
        assert health["alerts_sent"] == 1, run  # the same problem alerts once
    assert set(statuses(acme, "acme").values()) == {"ok"}  # the last good run's rows are untouched
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    load_tenant("acme", "run_fixed", streams=STREAMS)
    assert _health()["status"] == "connected"


def test_a_failure_reading_the_tenant_s_state_is_recorded_and_retried(
    acme: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state read raises (any error outside the streams): health ``degraded`` naming it,
    one alert; the error itself is raised (the task retries)."""
    from sendgrid_elt import sync_state

    def broken(*_: Any) -> Any:
        raise RuntimeError("state unreadable")

    monkeypatch.setattr(sync_state, "load_cursors", broken)
    for run in ("run_1", "run_2"):
        with pytest.raises(RuntimeError, match="state unreadable"):
            load_tenant("acme", run, streams=STREAMS)
        health = _health()
        assert (health["status"], health["reason"]) == ("degraded", "run_failed"), health
        assert "RuntimeError: state unreadable" in health["last_error"]
        assert health["alerts_sent"] == 1
    monkeypatch.undo()


def test_a_time_budget_used_up_before_the_streams_is_no_health_problem(
    acme: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's own time budget ends during the scope check (a batch's last tenant): the task
    retries and resumes; the tenant's health and its admins hear nothing of it."""
    from sendgrid_hook.errors import SendGridTimeBudgetExceededError
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    load_tenant("acme", "run_ok", streams=STREAMS)
    before = _health()

    def spent(self: Any) -> Any:
        raise SendGridTimeBudgetExceededError("time budget of 1 s used up")

    monkeypatch.setattr(SendGridHook, "api_date", spent)
    with pytest.raises(SendGridTimeBudgetExceededError):
        load_tenant("acme", "run_late", streams=STREAMS)
    after = _health()
    assert (after["status"], after["alerts_sent"]) == ("connected", before["alerts_sent"])


def test_a_stream_status_detail_is_saved_scrubbed_with_nul_and_surrogates_escaped(pg) -> None:
    """The stream's status is the last thing that must never fail: a detail holding a NUL, a
    lone surrogate or a registered secret is stored escaped and masked (a NUL raised
    ``DataError`` outside the stream's guard and stopped the tenant)."""
    from sendgrid_hook.redaction import register_secret

    from sendgrid_elt import sync_state

    secret = "s3cr3t-" + "k" * 36
    register_secret(secret)
    detail = f"500 a\x00b \ud800 c {secret}"
    sync_state.save_status(pg, "acme", "blocks", "error", "r1", detail=detail)
    saved = statuses(pg, "acme", "detail")["blocks"]
    assert saved == "500 a\\u0000b \\ud800 c ***", saved


def test_a_failed_stream_keeps_the_run_it_was_last_read_whole_in(pg: psycopg.Connection) -> None:
    """``last_ok_run_id`` is the last run whose status was ``ok``; failures keep it. The marts
    take a failed stream's figures as covering up to that run's as-of (not up to the latest
    success of any one unit: a subuser that kept loading while the parent failed)."""
    from sendgrid_elt import sync_state

    def last_ok() -> tuple[str, str | None]:
        return pg.execute(
            f'select status, last_ok_run_id from "{STAGING_SCHEMA}".stream_status '  # noqa: S608
            "where tenant_id = 'acme' and stream = 'global_stats'"
        ).fetchone()

    sync_state.save_status(pg, "acme", "global_stats", "error", "r1", detail="500")
    assert last_ok() == ("error", None)  # never read whole
    sync_state.save_status(pg, "acme", "global_stats", "ok", "r2")
    assert last_ok() == ("ok", "r2")
    sync_state.save_status(pg, "acme", "global_stats", "error", "r3", detail="500")
    sync_state.save_status(pg, "acme", "global_stats", "missing_scope", "r4")
    assert last_ok() == ("missing_scope", "r2")
    sync_state.save_status(pg, "acme", "global_stats", "ok", "r5")
    assert last_ok() == ("ok", "r5")


def test_an_upgrade_fills_last_ok_run_id_from_the_statuses_already_stored(
    pg: psycopg.Connection, pg_database: Any
) -> None:
    """A deployment whose ``stream_status`` predates the column: ``ensure_schema`` adds it and
    fills it from what the rows say (an ``ok`` row's run), so a stream failing on the first run
    after the upgrade keeps its coverage."""
    from sendgrid_elt.staging_schema import ensure_schema_url

    table = f'"{STAGING_SCHEMA}".stream_status'
    pg.execute(f"alter table {table} drop column last_ok_run_id")
    pg.execute(
        f"insert into {table} (tenant_id, stream, status, checked_at, run_id) values "  # noqa: S608
        "('acme', 'bounces', 'ok', now(), 'r_old'), ('acme', 'blocks', 'error', now(), 'r_old')"
    )
    ensure_schema_url(pg_database.sqlalchemy_url())
    rows = pg.execute(f"select stream, last_ok_run_id from {table} order by 1").fetchall()  # noqa: S608
    assert rows == [("blocks", None), ("bounces", "r_old")]
