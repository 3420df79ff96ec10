"""A tenant out of time is ``partial``: its batch does not fail, so nobody's marts wait for it.

Found by a review: a large tenant that used up its time budget on every try failed its batch,
Airflow retried the batch three times (each try up to the task's ~4 h timeout), and the
publish (``all_done``) waited for every try: the staging asset, and so every tenant's marts,
came ~15 h late. Now a tenant whose budget ended while its streams ran (progress saved) is
``partial``: its row, the batch log and its health say so, the batch does not fail for it, a
retry of the batch for another tenant leaves it alone, and the next run resumes it. A backfill
run (``start_date``) still fails its batch for it: only that run's retries resume the units the
backfill has not reached from its start day.

``run_batch`` with the real ``load_tenant`` on the simulator (a 4 s budget, a trickling
``bounces``) and a real PostgreSQL; the other tenants of a batch are stand-ins.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sendgrid_elt import batches, catalog, settings
from sendgrid_elt.extract_load import load_tenant, prepare_staging
from sendgrid_elt.stream_outcome import StreamOutcome, StreamsFailed
from sendgrid_simulator.hostile import configure

from .conftest import connection_json, sim_today, staged_keys

pytestmark = pytest.mark.usefixtures("airflow_home")
STREAMS = ["teammates", "bounces"]  # catalog order: teammates loads, bounces runs out of time
BOUNCES = "/v3/suppression/bounces"
DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def slow(sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``acme`` with a 4 s budget (its connection's) and a ``bounces`` trickling for 8 s."""
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0, time_budget=4))
    prepare_staging()
    configure(sim.base_url, paths=[BOUNCES], trickle_seconds=8)
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        yield conn
    configure(sim.base_url)


def _loader(calls: list[str], fail: dict[str, str] | None = None) -> Any:
    """``acme`` through the real ``load_tenant``; the others load nothing, or raise ``fail``'s."""

    def load(tenant_id: str, run_id: str, **kwargs: Any) -> dict[str, Any]:
        calls.append(tenant_id)
        if tenant_id == "acme":
            return load_tenant(tenant_id, run_id, **{**kwargs, "streams": STREAMS})
        if tenant_id in (fail or {}):
            raise ConnectionError(fail[tenant_id])  # a network failure: worth a retry
        return {"tenant_id": tenant_id, "requests": 1, "streams": {"x": {"records": 2}}}

    return load


def _health() -> dict[str, Any]:
    from sendgrid_elt.connection_health import health_engine, read_health

    return read_health(health_engine(), "acme") or {}


def test_a_tenant_out_of_time_is_partial_and_its_batch_does_not_fail(
    sim: Any, slow: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, the batch raised ``BatchFailed`` for acme (so Airflow retried it, 3 times)."""
    calls: list[str] = []
    with caplog.at_level(logging.WARNING, logger="sendgrid_elt"):
        summary = batches.run_batch(["acme", "bluebird"], "run-p", loader=_loader(calls))
    assert summary["tenants"] == {"acme": "partial", "bluebird": "ok"}
    row = batches.run_tenants("run-p")["acme"]
    assert row["status"] == "partial"
    assert "time budget of 4 s used up" in row["error"], row["error"]
    assert "not finished: bounces" in row["error"]
    assert "the next run resumes" in row["error"]
    assert row["records"] > 0  # teammates loaded before the budget ended
    assert staged_keys(slow, "acme", "teammates")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(w.startswith("tenant acme: partial in") for w in warnings), warnings
    assert any("resumed by the next run" in w and w.endswith(": acme") for w in warnings)
    # its health says which stream did not finish, as for any budget end
    problems = _health()["stream_problems"]
    assert "time budget" in problems["bounces"]["detail"], problems

    # the run's last task names it (the run itself succeeds: its marts are not held back)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sendgrid_elt"):
        assert batches.warn_partial([summary, {"tenants": {"cedar": "ok"}}]) == ["acme"]
    assert "not finished within the time budget (partial" in caplog.text
    assert caplog.text.rstrip().endswith(": acme")

    # the next run, on a healthy server, resumes it and finishes
    configure(sim.base_url)
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    assert batches.run_batch(["acme"], "run-next", loader=_loader(calls))["tenants"] == {
        "acme": "ok"
    }
    truth = sim.control.truth()["tenants"][0]["streams"]["bounces"]
    assert len(staged_keys(slow, "acme", "bounces")) == truth["count"]


def test_a_retry_for_another_tenant_leaves_the_partial_one_alone(slow: Any) -> None:
    """A network failure still fails the batch (retried); its retry extracts only that tenant.
    Before, acme failed the batch too, and every retry ran it out of time again."""
    calls: list[str] = []
    fail = {"cedar": "connection reset by peer"}
    with pytest.raises(batches.BatchFailed) as raised:
        batches.run_batch(["acme", "cedar"], "run-r", threads=2, loader=_loader(calls, fail))
    assert set(raised.value.failed) == {"cedar"}
    assert "1 of 2 tenants failed: cedar" in str(raised.value)
    assert {t: r["status"] for t, r in batches.run_tenants("run-r").items()} == {
        "acme": "partial",
        "cedar": "failed",
    }
    calls.clear()
    summary = batches.run_batch(["acme", "cedar"], "run-r", loader=_loader(calls))  # the retry
    assert calls == ["cedar"]
    assert summary["tenants"] == {"acme": "partial", "cedar": "ok"}
    assert batches.run_tenants("run-r")["acme"]["status"] == "partial"


def test_a_backfill_out_of_time_still_fails_its_batch_and_the_retry_resumes_it(
    sim: Any, slow: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill's units not reached yet are read from ``start_date`` only by its own run:
    its batch fails (Airflow retries), the row says ``partial``, the retry runs the tenant."""
    start = sim_today(sim) - dt.timedelta(days=60)
    calls: list[str] = []
    with pytest.raises(batches.BatchFailed) as raised:
        batches.run_batch(["acme"], "run-bf", start_date=start, loader=_loader(calls))
    assert set(raised.value.failed) == {"acme"}
    assert "backfill not finished within the time budget: acme" in str(raised.value)
    row = batches.run_tenants("run-bf")["acme"]
    assert row["status"] == "partial"
    assert "the retry of this backfill run resumes" in row["error"], row["error"]
    configure(sim.base_url)
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    summary = batches.run_batch(["acme"], "run-bf", start_date=start, loader=_loader(calls))
    assert calls == ["acme", "acme"]
    assert summary["tenants"] == {"acme": "ok"}


def _bounces(detail: str, *, ended: bool) -> StreamOutcome:
    """A failed ``bounces``; the flag set as an attribute, so the old code ran the test too."""
    outcome = StreamOutcome("bounces", "error", detail=detail)
    outcome.budget_ended = ended
    return outcome


def test_only_a_budget_end_makes_a_tenant_partial(
    sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream that ended on the budget (a wait that no longer fitted, time still on the
    clock: its outcome's ``budget_ended``) makes the tenant partial, whatever its ``detail``
    says (scrubbed, reworded); a stream's own failure is retried as before, even when its
    ``detail`` happens to start with the budget error's name. Before, the first word of
    ``detail`` decided: the reworded end failed the tenant, the look-alike made it partial."""
    from sendgrid_elt import extract
    from sendgrid_elt.time_budget import TimeBudgetEnded

    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    prepare_staging()
    bounces = [_bounces("SendGridServerError: 503 Service Unavailable after 5 retries",
                        ended=False)]  # fmt: skip

    def run(self: Any, streams: list[str] | None = None) -> dict[str, Any]:
        outcomes = {"teammates": StreamOutcome("teammates", "ok", records=3),
                    "bounces": bounces[0]}  # fmt: skip
        raise StreamsFailed("streams failed: bounces", outcomes)

    monkeypatch.setattr(extract.TenantExtractor, "run", run)
    with pytest.raises(StreamsFailed) as raised:
        load_tenant("acme", "run-503", streams=STREAMS, time_budget=600)
    assert not isinstance(raised.value, TimeBudgetEnded)
    look_alike = "SendGridTimeBudgetExceededError: quoted back by a proxy's 503 error page"
    bounces[0] = _bounces(look_alike, ended=False)
    with pytest.raises(StreamsFailed) as raised:
        load_tenant("acme", "run-look-alike", streams=STREAMS, time_budget=600)
    assert not isinstance(raised.value, TimeBudgetEnded)
    bounces[0] = _bounces("no time left for a wait of 90.0 s (reworded)", ended=True)
    with pytest.raises(TimeBudgetEnded, match="not finished: bounces"):
        load_tenant("acme", "run-wait", streams=STREAMS, time_budget=600)


def test_a_stream_ended_by_the_budget_says_so_on_its_outcome(
    sim: Any, acme: Any, pg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the error becomes the outcome, the flag is set; any other failure leaves it off."""
    from sendgrid_hook import errors

    from .conftest import extractor

    def ended(path: str, **kwargs: Any) -> Any:
        raise errors.SendGridTimeBudgetExceededError("the tenant's time budget is used up")

    monkeypatch.setattr(acme, "iter_record_pages", ended)
    outcome = extractor(acme, pg).run_stream(catalog.get("bounces"))
    assert (outcome.status, outcome.budget_ended) == ("error", True), outcome

    def failed(path: str, **kwargs: Any) -> Any:
        raise errors.SendGridRetriableError("SendGridTimeBudgetExceededError: 503", status_code=503)

    monkeypatch.setattr(acme, "iter_record_pages", failed)
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("bounces"))
    assert outcome.status == "error", outcome
    assert not outcome.budget_ended


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_run_publishes_on_time_and_succeeds_with_a_partial_tenant(
    slow: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dag.test()``: the batch succeeds on its first try, the asset is published, the run
    succeeds (no run-failure alert: the tenant's health tells its admins). Before, the batch
    failed and was retried (here 1 s apart instead of minutes), and the run failed."""
    from airflow.dag_processing.dagbag import DagBag

    from sendgrid_elt.publish import staging_summary

    monkeypatch.setattr(settings, "EXTRACT_MAX_BATCHES", 1)
    bag = DagBag(dag_folder=str(DAGS / "sendgrid_extract_load.py"))
    dag = bag.dags[settings.EXTRACT_DAG_ID]
    extract_task = dag.get_task("extract_load")
    extract_task.retry_delay = dt.timedelta(seconds=1)
    extract_task.retry_exponential_backoff = 0
    dr = dag.test(run_conf={"tenants": ["acme"], "streams": STREAMS})
    tis = {ti.task_id: ti for ti in dr.get_task_instances()}
    assert str(tis["extract_load"].state) == "success"
    assert tis["extract_load"].try_number == 1
    assert str(tis["publish_staging_asset"].state) == "success"
    assert str(tis["check_tenants"].state) == "success"
    assert dr.state == "success"
    summary = staging_summary(dr.run_id)
    assert summary["tenant_outcomes"] == {"partial": 1}
    assert summary["failed_tenants"]["first"] == ["acme"]  # its bounces stream is in error
