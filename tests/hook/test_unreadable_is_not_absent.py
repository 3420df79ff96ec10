"""An Airflow Variable or Connection the execution API cannot read is never taken for absent.

Inside a task the SDK's ``Variable.get(key, default=None)`` answers the default, and
``Connection.get`` "isn't defined", when the API server fails (down, restarting): its
execution-API backend turns every error answer into "not found". Taken for absence, that:

* counted an alert as delivered though its recipients were never read (no one told);
* dropped a known tenant from the run's list, which then marked it removed (left out of every
  report until the next run);
* refreshed an OAuth token under a process-local lock only, the cross-worker lock's connection
  "not defined" (another worker could spend the same single-use refresh token);
* reported the tenant's own connection as not defined, and its own alert recipients as none
  (the alert counted as delivered to the global recipients or the log alone).

These run tasks through ``dag.test()`` (the real Task SDK, supervisor channel and in-process
execution API), the API answering 503 to the reads a task names.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException, Request

from tests.hook.conftest import dag_bag

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")

OUTAGE_ENV = "SG_TEST_EXECUTION_API_OUTAGE"
DB_TENANT = "sg_unreadable_db"  # a sendgrid connection stored in the metadata database only
LOCK_CONN = "sg_unreadable_lock"  # the OAuth refresh lock's database, stored there too

DAG_FILE = f'''
import datetime as dt
import os

from airflow.sdk import DAG, task


def _during(names, read):
    """read() while the execution API answers 503 to reads of ``names``; its error's text."""
    os.environ["{OUTAGE_ENV}"] = ",".join(names)
    try:
        return read()
    except Exception as exc:
        return f"{{type(exc).__name__}}: {{exc}}"
    finally:
        os.environ.pop("{OUTAGE_ENV}", None)


with DAG("unreadable_is_not_absent", schedule=None, start_date=dt.datetime(2026, 11, 1)) as dag:

    @task
    def alerts() -> dict:
        from sendgrid_elt.alert_settings import AlertSettings

        def read():
            s = AlertSettings.from_airflow()
            return [s.unread, list(s.to)]

        return {{"down": _during(["sendgrid_alert_recipients"], read), "up": read()}}

    @task
    def tenants() -> dict:
        from sendgrid_elt.tenants import discover

        def listing():
            return discover(known=["{DB_TENANT}"])

        return {{
            "connection_down": _during(["{DB_TENANT}"], listing),
            "variable_down": _during(["sendgrid_tenants"], listing),
            "up": listing(),
        }}

    @task
    def lock() -> dict:
        from sendgrid_hook.auth.refresh_lock import PostgresAdvisoryLock

        def hold():
            with PostgresAdvisoryLock("{LOCK_CONN}").hold("{DB_TENANT}"):
                return "held"

        return {{"down": _during(["{LOCK_CONN}"], hold), "up": hold()}}

    @task
    def tenant_alert() -> dict:
        from sendgrid_hook.hooks.sendgrid import SendGridHook
        from sendgrid_elt.alert_settings import AlertSettings

        def settings():
            s = AlertSettings(to=("ops@example.com",)).for_tenant(SendGridHook("{DB_TENANT}"))
            return [s.unread, list(s.extra_to)]

        return {{"down": _during(["{DB_TENANT}"], settings), "up": settings()}}

    @task
    def hook() -> dict:
        from sendgrid_hook.hooks.sendgrid import SendGridHook

        def name():
            return SendGridHook("{DB_TENANT}").display_name

        return {{"down": _during(["{DB_TENANT}"], name), "up": name()}}

    alerts() >> tenants() >> lock() >> tenant_alert() >> hook()
'''


@contextmanager
def _reads_failing_while_named() -> Iterator[None]:
    """The execution API answers 503 to a Variable or Connection a task names in OUTAGE_ENV."""
    from airflow.api_fastapi.execution_api.routes.connections import has_connection_access
    from airflow.api_fastapi.execution_api.routes.variables import has_variable_access
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    async def flaky(request: Request) -> bool:
        params = request.path_params
        name = str(params.get("variable_key") or params.get("connection_id") or "")
        if request.method == "GET" and name in os.environ.get(OUTAGE_ENV, "").split(","):
            raise HTTPException(503, "the API server is restarting")
        return True

    overrides = in_process_api_server().app.dependency_overrides
    saved = {dep: overrides.get(dep) for dep in (has_connection_access, has_variable_access)}
    overrides.update(dict.fromkeys(saved, flaky))
    try:
        yield
    finally:
        for dep, before in saved.items():
            if before is None:
                overrides.pop(dep, None)
            else:
                overrides[dep] = before


@contextmanager
def _stored(lock_json: str, variables: dict[str, str]) -> Iterator[None]:
    """The tenant, the lock database's connection and ``variables`` in the metadata database
    (outside the environment: only the execution API has them)."""
    from airflow.models import Connection, Variable
    from airflow.utils.session import create_session

    conns = [
        Connection(conn_id=DB_TENANT, conn_type="sendgrid", password="SG.db.key",
                   description="Acme DB", extra=json.dumps({"alert_emails": "it@acme.example"})),
        Connection.from_json(lock_json, conn_id=LOCK_CONN),
    ]  # fmt: skip
    with create_session() as session:
        session.add_all(conns)
    for key, value in variables.items():
        Variable.set(key, value)
    try:
        yield
    finally:
        with create_session() as session:
            for conn_id in (DB_TENANT, LOCK_CONN):
                session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        for key in variables:
            Variable.delete(key)


def test_reads_the_execution_api_cannot_answer_are_errors_not_absence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warehouse: Any
) -> None:
    """Each read answered 503 is an error naming what could not be read; answered, each finds
    what the metadata database holds (the confirmation costs no wrong "not found")."""
    monkeypatch.setenv("AIRFLOW_CONN_SG_UNREADABLE_ENV", json.dumps(
        {"conn_type": "sendgrid", "password": "SG.env.key"}))  # fmt: skip
    bag = dag_bag(tmp_path, monkeypatch, "unreadable_is_not_absent.py", DAG_FILE)
    recipients = {"sendgrid_alert_recipients": "ops@example.com"}
    with _stored(warehouse.airflow_connection_json(), recipients), _reads_failing_while_named():
        run = bag.get_dag("unreadable_is_not_absent").test()
    out = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}

    unread = "could not be read from the execution API"
    # alerts: the recipients' read failed, so an alert reaching no one is released, not "sent"
    assert out["alerts"] == {"down": [True, []], "up": [False, ["ops@example.com"]]}
    # tenants: the run fails (and retries) instead of dropping the tenant and marking it removed
    tenants = out["tenants"]
    assert tenants["connection_down"].startswith(
        f"TenantListUnreadable: connection {DB_TENANT} {unread}"
    )
    assert "marked removed" in tenants["connection_down"]
    assert tenants["variable_down"].startswith(
        f"TenantListUnreadable: Variable sendgrid_tenants {unread}"
    )
    assert {DB_TENANT, "sg_unreadable_env"} <= set(tenants["up"])
    # the OAuth refresh lock: no refresh under a process-local lock only
    assert out["lock"]["down"].startswith(
        f"SendGridRetriableError: connection {LOCK_CONN} {unread}"
    )
    assert "not attempted without its cross-worker lock" in out["lock"]["down"]
    assert out["lock"]["up"] == "held"
    # the tenant's own alert recipients unknown: an alert nobody external took is retried
    assert out["tenant_alert"] == {"down": [True, []], "up": [False, ["it@acme.example"]]}
    # the tenant's own connection: a retriable error, not "isn't defined"
    assert out["hook"]["down"].startswith(
        f"SendGridRetriableError: connection {DB_TENANT} {unread}"
    )
    assert out["hook"]["up"] == DB_TENANT  # read (the execution API carries no description)


class _Comms:
    """The supervisor's channel on a worker while the API server answers 503: the supervisor
    sends an error frame, which ``send`` raises (only "not found" and "denied" are answers)."""

    def send(self, message: Any) -> Any:
        from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
        from airflow.sdk.execution_time.comms import ErrorResponse

        error = ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"status_code": 503})
        raise AirflowRuntimeError(error)


def test_an_unreadable_base_url_variable_is_logged_and_the_configured_one_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The base-URL Variable that cannot be read was silent; now a WARNING names it, and the
    alerts link to Airflow's ``[api] base_url``."""
    from airflow.sdk.execution_time import task_runner
    from sendgrid_hook.base_url import airflow_base_url

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", _Comms(), raising=False)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    log = logging.getLogger("tests.base_url")
    with caplog.at_level(logging.WARNING, logger="tests.base_url"):
        assert airflow_base_url(log) == "https://airflow.example.com"
    assert "Variable sendgrid_connect_base_url could not be read from the execution API " \
        "(API_SERVER_ERROR)" in caplog.text  # fmt: skip
