"""One alert per failed DAG run, and a warning when alerts can reach nobody.

Before, no DAG had an ``on_failure_callback``: a run that failed outside every tenant (the
tenants could not be discovered, the warehouse was down, dbt failed) told nobody. Now both DAGs
send one alert per failed run on the tenant alerts' channels, naming the DAG, the run and the
failed tasks, never per task try or per tenant.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from sendgrid_elt.settings import (
    ALERT_RECIPIENTS_VARIABLE,
    ALERT_SLACK_VARIABLE,
    EXTRACT_DAG_ID,
    PROJECT_ROOT,
    TRANSFORM_DAG_ID,
)
from tests.hook.conftest import dag_bag

DAGS = PROJECT_ROOT / "dags"
RECIPIENTS_ENV = f"AIRFLOW_VAR_{ALERT_RECIPIENTS_VARIABLE.upper()}"
FLAKY_DAG = """
import datetime as dt

from airflow.sdk import dag, task

from sendgrid_elt.run_alerts import RunFailureNotifier


@dag(schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False,
     on_failure_callback=RunFailureNotifier())
def run_failure_once():
    @task(retries=2, retry_delay=dt.timedelta(seconds=0))
    def discover():
        raise RuntimeError("401 from the discovery API, password=hunter2-secret")

    @task
    def warehouse():
        raise RuntimeError("could not connect to the warehouse")

    @task
    def fine():
        return 1

    discover()
    warehouse()
    fine()


run_failure_once()
"""


def _body(message: Any) -> str:
    parts = [message] if not message.is_multipart() else list(message.walk())
    return "".join(p.get_payload(decode=True).decode() for p in parts if p.get_payload(decode=True))


@pytest.mark.usefixtures("airflow_home")
def test_a_failed_run_alerts_once_naming_its_failed_tasks_not_per_try(
    smtp_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RECIPIENTS_ENV, "ops@example.com")
    bag = dag_bag(tmp_path, monkeypatch, "run_failure_once.py", FLAKY_DAG)
    run = bag.get_dag("run_failure_once").test()

    assert run.state == "failed"
    tries = {ti.task_id: ti.try_number for ti in run.get_task_instances()}
    assert tries["discover"] == 3  # three tries, one alert
    assert smtp_server.subjects() == ["[SendGrid] pipeline run failed: run_failure_once"]
    body = _body(smtp_server.messages[0])
    assert f"The Airflow run {run.run_id} of DAG run_failure_once failed" in body
    assert "Failed tasks: discover, warehouse." in body
    assert "hunter2" not in body  # the exception's text is never sent


@pytest.mark.slow
@pytest.mark.usefixtures("airflow_home", "warehouse")
def test_the_extract_dag_alerts_when_it_fails_before_any_tenant(
    smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``list_tenants`` fails (here on a stream name that does not exist, as it would on the
    discovery's rotated credentials): no tenant runs, so no tenant alert; the run's alert
    names the task."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv(RECIPIENTS_ENV, "ops@example.com")
    dag = DagBag(dag_folder=str(DAGS / "sendgrid_extract_load.py")).dags[EXTRACT_DAG_ID]
    run = dag.test(run_conf={"streams": ["no_such_stream"], "tenants": []})

    assert run.state == "failed"
    assert smtp_server.subjects() == [f"[SendGrid] pipeline run failed: {EXTRACT_DAG_ID}"]
    body = _body(smtp_server.messages[0])
    assert "Failed tasks: list_tenants." in body
    assert f"/dags/{EXTRACT_DAG_ID}/runs/" in body


@pytest.mark.usefixtures("airflow_home")
def test_both_dags_alert_on_failure() -> None:
    from airflow.dag_processing.dagbag import DagBag

    from sendgrid_elt.run_alerts import RunFailureNotifier

    bag = DagBag(dag_folder=str(DAGS))
    for dag_id in (EXTRACT_DAG_ID, TRANSFORM_DAG_ID):
        assert isinstance(bag.dags[dag_id].on_failure_callback, RunFailureNotifier), dag_id


@pytest.mark.parametrize(
    ("variables", "warned"),
    [
        ({}, True),  # nothing configured: alerts reach the task log only
        ({ALERT_RECIPIENTS_VARIABLE: "ops@example.com"}, False),
        ({ALERT_SLACK_VARIABLE: "slack_alerts"}, False),
    ],
)
def test_one_warning_per_read_when_no_alert_channel_is_configured(
    variables: dict[str, str], warned: bool, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from sendgrid_elt.alert_settings import AlertSettings

    for key in (ALERT_RECIPIENTS_VARIABLE, ALERT_SLACK_VARIABLE):  # AIRFLOW_VAR_*: a real backend
        monkeypatch.delenv(f"AIRFLOW_VAR_{key.upper()}", raising=False)
    for key, value in variables.items():
        monkeypatch.setenv(f"AIRFLOW_VAR_{key.upper()}", value)
    with caplog.at_level(logging.WARNING, logger="sendgrid_elt.alert_settings"):
        AlertSettings.from_airflow()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == (1 if warned else 0), warnings
    if warned:
        assert ALERT_RECIPIENTS_VARIABLE in warnings[0]
        assert "task log only" in warnings[0]


def test_the_deploy_checklist_sets_up_alerts() -> None:
    """Without recipients alerts reach the task log only and count as delivered: the deploy
    checklist and ``.env.example`` say how to configure them."""
    deploy = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    env = (PROJECT_ROOT / ".env.example").read_text()
    for text in (deploy, env):
        for name in (ALERT_RECIPIENTS_VARIABLE, ALERT_SLACK_VARIABLE, "smtp_default"):
            assert name in text


def test_in_the_dag_processor_the_failed_tasks_come_from_the_execution_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The DAG processor runs the callback with the Task SDK's comms and no database: the
    failed tasks come from the execution API, mapped instances named ``task[index]``."""
    from types import SimpleNamespace

    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import TaskStatesResult

    from sendgrid_elt.run_alerts import failed_task_ids

    states = {"list_tenants": "success", "extract_load_0": "failed", "extract_load_1": "success",
              "extract_load_12": "failed", "check_tenants": "upstream_failed"}  # fmt: skip
    asked: list[Any] = []

    class Comms:
        def send(self, msg: Any) -> Any:
            asked.append(msg)
            return TaskStatesResult(task_states={"run_1": states})

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", Comms(), raising=False)
    dag = SimpleNamespace(task_ids=["list_tenants", "extract_load", "check_tenants"])
    failed = failed_task_ids(EXTRACT_DAG_ID, "run_1", {"dag": dag})
    assert failed == ["extract_load[0]", "extract_load[12]"]
    assert [(m.dag_id, m.run_ids) for m in asked] == [(EXTRACT_DAG_ID, ["run_1"])]


def test_a_run_failed_only_by_its_tenants_sends_no_run_alert(
    warehouse: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """Tenants that failed in their batches have their own health alert: the run adds none
    (before: a revoked tenant meant a run-failure mail every day beside its reminder). A
    failed task that is not a batch, or a tenant a killed batch never finished, is still
    alerted, and so is a run whose tenant rows cannot be read."""
    from sendgrid_elt import batches
    from sendgrid_elt.run_alerts import explained_by_tenants
    from sendgrid_elt.staging_schema import ensure_schema_url

    ensure_schema_url(warehouse.sqlalchemy_url())

    def loader(tenant_id: str, run_id: str, **kwargs: Any) -> dict[str, Any]:
        if tenant_id == "b":
            raise RuntimeError("SendGrid rejected the API key")
        return {"tenant_id": tenant_id, "requests": 1, "streams": {}}

    with pytest.raises(batches.BatchFailed):
        batches.run_batch(["a", "b"], "run-t", loader=loader)
    assert explained_by_tenants(EXTRACT_DAG_ID, "run-t", ["extract_load[0]"])
    assert not explained_by_tenants(EXTRACT_DAG_ID, "run-t", ["extract_load[0]", "list_tenants"])
    assert not explained_by_tenants(TRANSFORM_DAG_ID, "run-t", ["dbt_build"])
    assert not explained_by_tenants(EXTRACT_DAG_ID, "run-none", ["extract_load[0]"])

    class Killed(BaseException):
        pass

    def killed(tenant_id: str, run_id: str, **kwargs: Any) -> dict[str, Any]:
        raise Killed

    with pytest.raises(Killed):
        batches.run_batch(["c"], "run-k", loader=killed)
    assert not explained_by_tenants(EXTRACT_DAG_ID, "run-k", ["extract_load[0]"])

    from types import SimpleNamespace

    from sendgrid_elt import run_alert_message
    from sendgrid_elt.alert_settings import AlertSettings
    from sendgrid_elt.run_alerts import RunFailureNotifier

    sent: list[Any] = []

    monkeypatch.setattr(run_alert_message.RunFailureMessage, "notify",
                        lambda self, context: sent.append(self))  # fmt: skip
    monkeypatch.setattr("sendgrid_elt.run_alerts.failed_task_ids",
                        lambda dag_id, run_id, context: ["extract_load[0]"])  # fmt: skip
    notifier = RunFailureNotifier(settings=AlertSettings(to=("ops@example.com",)))
    with caplog.at_level(logging.INFO, logger="sendgrid_elt.run_alerts"):
        notifier.notify({"dag": SimpleNamespace(dag_id=EXTRACT_DAG_ID), "run_id": "run-t"})
    assert sent == []
    assert "failed through its tenants only" in caplog.text
    notifier.notify({"dag": SimpleNamespace(dag_id=EXTRACT_DAG_ID), "run_id": "run-k"})
    assert len(sent) == 1
