"""What the terminal of ``make run`` and ``make demo`` shows while and after the DAGs run.

A failed try that Airflow retries gets a line saying when it runs again (before, nothing was
printed until the last try ended, minutes later); ``make run`` names each failed tenant with
its reason, as ``make demo`` does; and its DAGs run without task retries (``dag.test()`` waits
out the retry delays).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sendgrid_demo.runner import DagResult, _Watcher
from sendgrid_elt.settings import EXTRACT_DAG_ID, TRANSFORM_DAG_ID


def _ti(state: str, try_number: int, retry_in: float = 60.0) -> SimpleNamespace:
    now = dt.datetime.now(dt.UTC)
    return SimpleNamespace(
        task_id="extract_load", map_index=0, rendered_map_index="acme", state=state,
        try_number=try_number, max_tries=3, start_date=now - dt.timedelta(seconds=5),
        end_date=now, task=object(),
        next_retry_datetime=lambda: now + dt.timedelta(seconds=retry_in),
    )  # fmt: skip


def test_a_retried_try_gets_a_line_naming_when_it_runs_again() -> None:
    watcher = _Watcher(EXTRACT_DAG_ID, 0.0, print)
    first = _ti("up_for_retry", 1)
    (line,) = watcher.lines([first])
    at = first.next_retry_datetime()
    assert "extract_load[acme]" in line
    assert "up_for_retry" in line
    assert "try 1 of 4 failed" in line
    assert f"next try at {at:%H:%M:%S} UTC" in line
    assert re.search(r"\(in (59|60)s\)", line), line
    assert watcher.lines([first]) == []  # once per try, however often it is polled
    (second,) = watcher.lines([_ti("up_for_retry", 2)])
    assert "try 2 of 4 failed" in second
    (done,) = watcher.lines([_ti("failed", 4)])  # the last try: the usual finish line
    assert done.startswith("    !! extract_load[acme]")
    assert " failed " in done


def test_make_run_names_each_failed_tenant_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``make run`` reports like ``make demo``: the failed batch's tenants and their errors."""
    import sendgrid_dashboard
    import sendgrid_demo.key_check
    import sendgrid_demo.runner
    import sendgrid_elt.batches
    import sendgrid_elt.warehouse
    from sendgrid_demo import real_account

    reason = "SendGridRetriableError: GET https://api.sendgrid.com/v3/stats: 503 (gave up)"
    outcomes = {
        EXTRACT_DAG_ID: DagResult(EXTRACT_DAG_ID, "failed", 3.0, {
            "list_tenants": "success", "extract_load[sendgrid_account]": "failed",
        }, "run-1"),
        TRANSFORM_DAG_ID: DagResult(TRANSFORM_DAG_ID, "success", 2.0, {"dbt": "success"}, "r2"),
    }  # fmt: skip
    target = SimpleNamespace(conninfo=lambda: "", describe=lambda: "a warehouse")
    warehouse = SimpleNamespace(target=target, describe=lambda: "the run's warehouse")
    dags = {d: SimpleNamespace(dag_id=d, tasks=[]) for d in outcomes}
    monkeypatch.setattr(sendgrid_demo.key_check, "check_key", lambda _: (True, "key accepted"))
    monkeypatch.setattr(real_account, "configure", lambda *_: {})
    monkeypatch.setattr(sendgrid_elt.warehouse, "resolve_warehouse", lambda *_, **__: warehouse)
    monkeypatch.setattr(sendgrid_demo.runner, "load_dags", lambda *ids: dags)
    monkeypatch.setattr(sendgrid_demo.runner, "run_dag", lambda dag, **_: outcomes[dag.dag_id])
    monkeypatch.setattr(sendgrid_dashboard, "write_dashboard", lambda *_: tmp_path / "d.html")
    monkeypatch.setattr(
        sendgrid_elt.batches,
        "run_tenants",
        lambda run_id: (
            {"sendgrid_account": {"status": "failed", "error": reason}} if run_id == "run-1" else {}
        ),
    )

    assert real_account._run(0.0) == 1
    out = capsys.readouterr().out
    assert f"! tenant sendgrid_account: failed ({reason})" in out
    assert "! extract_load[sendgrid_account]: failed" in out
    assert "run `make run` again to resume" in out


def test_without_retries_survives_the_copy_dag_test_schedules(airflow_home: Any) -> None:
    """``dag.test()`` schedules a serialized copy of the DAG: the change must survive it."""
    from airflow.serialization.serialized_objects import DagSerialization

    from sendgrid_demo.runner import load_dags, without_retries

    dag = load_dags(EXTRACT_DAG_ID)[EXTRACT_DAG_ID]
    assert dag.get_task("extract_load").retries > 0  # what the scheduled DAG keeps
    copy = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(without_retries(dag)))
    assert {t.task_id: t.retries for t in copy.tasks} == {t.task_id: 0 for t in dag.tasks}
