"""Health rows and reconnect alerts: one per transition, reminders, recovery, degraded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from sendgrid_hook.display import human_instant
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_hook.notifications.reconnect import compose

from sendgrid_elt.connection_health import (
    AlertSettings,
    check_connection,
    decide_alert,
    health_engine,
    read_health,
    reconnect_guard,
    record_health,
)
from tests.hook.conftest import TEST_CONN, api_key_conn, oauth_conn, oauth_connect

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")
NEEDS = ["user_account", "global_stats", "bounces"]
SETTINGS = AlertSettings(to=("ops@example.com",), connect_base_url="https://airflow.example.com")


def _run(hook: SendGridHook, engine: Any) -> None:
    """One extraction task: page through bounces under the reconnect guard."""
    with reconnect_guard(hook, engine=engine, settings=SETTINGS):
        for _ in hook.iter_records(
            "/v3/suppression/bounces", pagination="offset", records_path=None, page_size=100
        ):
            pass


def _body(message: Any) -> str:
    return (
        message.get_payload(decode=True).decode()
        if not message.is_multipart()
        else "".join(
            part.get_payload(decode=True).decode()
            for part in message.walk()
            if part.get_payload(decode=True)
        )
    )


def test_revoked_oauth_grant_alerts_once_and_recovers(
    sim: Any, tenant: dict, set_conn: Any, smtp_server: Any
) -> None:
    token = oauth_connect(sim, tenant)
    set_conn(
        TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"], alert_emails="it@acme.example")
    )
    engine = health_engine()
    report = check_connection(SendGridHook(sendgrid_conn_id=TEST_CONN), NEEDS, engine=engine,
                              settings=SETTINGS)  # fmt: skip
    assert report.runnable == ("user_account", "global_stats", "bounces")
    assert read_health(engine, TEST_CONN)["status"] == "connected"
    assert smtp_server.subjects() == []

    sim.control.revoke_refresh_tokens(tenant["tenant_id"])
    for _ in range(2):  # two failing runs: one alert
        with pytest.raises(AirflowFailException, match="needs to be reconnected"):
            _run(SendGridHook(sendgrid_conn_id=TEST_CONN), engine)
    row = read_health(engine, TEST_CONN)
    assert (row["status"], row["reason"], row["alerts_sent"]) == (
        "needs_reconnect", "refresh_token_invalid", 1)  # fmt: skip
    assert smtp_server.subjects() == ["[SendGrid] Acme Retail needs to be reconnected"]
    alert = smtp_server.messages[0]
    assert {"ops@example.com", "it@acme.example"} <= {a.strip() for a in alert["To"].split(",")}
    text = _body(alert)
    assert "https://airflow.example.com/sendgrid/connections?tenant=sg_tenant" in text
    assert "invalid_grant" in text
    assert "Acme Retail (sg_tenant)" in text
    assert f"stopped working since {human_instant(row['status_since'])}." in text

    fresh = oauth_connect(sim, tenant)  # the admin reconnects on the Connect page
    set_conn(TEST_CONN, oauth_conn(sim, tenant, fresh["refresh_token"]))
    check_connection(SendGridHook(sendgrid_conn_id=TEST_CONN), NEEDS, engine=engine,
                     settings=SETTINGS)  # fmt: skip
    _run(SendGridHook(sendgrid_conn_id=TEST_CONN), engine)
    row = read_health(engine, TEST_CONN)
    assert row["status"] == "connected"
    assert row["last_success_at"] >= row["status_since"]
    assert smtp_server.subjects()[1:] == ["[SendGrid] Acme Retail: access restored"]


def test_api_key_revoked_mid_run(sim: Any, tenant: dict, set_conn: Any, smtp_server: Any) -> None:
    key = tenant["api_keys"]["full"]
    set_conn(TEST_CONN, api_key_conn(sim, key))
    engine = health_engine()
    check_connection(SendGridHook(sendgrid_conn_id=TEST_CONN), NEEDS, engine=engine,
                     settings=SETTINGS)  # fmt: skip
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    pages = hook.iter_records(
        "/v3/suppression/bounces", pagination="offset", records_path=None, page_size=100
    )

    def run_and_revoke_after_150_records() -> None:
        with reconnect_guard(hook, engine=engine, settings=SETTINGS):
            for n, _ in enumerate(pages):
                if n == 150:
                    sim.control.revoke_key(key)

    with pytest.raises(AirflowFailException):
        run_and_revoke_after_150_records()
    assert hook.last_progress.pages == 2
    with pytest.raises(AirflowFailException):
        _run(SendGridHook(sendgrid_conn_id=TEST_CONN), engine)
    row = read_health(engine, TEST_CONN)
    assert (row["status"], row["reason"]) == ("needs_reconnect", "api_key_rejected")
    assert key not in (row["last_error"] or "")
    assert smtp_server.subjects() == ["[SendGrid] Acme Retail needs to be reconnected"]


def test_missing_scope_degrades_and_other_streams_load(
    sim: Any, tenant: dict, set_conn: Any, smtp_server: Any
) -> None:
    assert "stats.read" in tenant["api_keys"]["restricted_missing_scopes"]
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["restricted"]))
    engine = health_engine()
    for _ in range(2):
        hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
        report = check_connection(hook, NEEDS, engine=engine, settings=SETTINGS)
        assert report.skipped == {"global_stats": ("stats.read",)}
        assert "user_account" in report.runnable
        assert hook.get_json("/v3/user/account")["type"]
    row = read_health(engine, TEST_CONN)
    assert row["status"] == "degraded"
    # the credential's missing scopes, whichever streams the run reads
    assert row["missing_scopes"] == sorted(tenant["api_keys"]["restricted_missing_scopes"])
    assert row["streams_missing_scopes"]["global_stats"] == ["stats.read"]
    assert smtp_server.subjects() == [
        "[SendGrid] Acme Retail: some data is not collected (missing scopes)"
    ]


def test_an_alert_that_could_not_be_delivered_is_sent_by_the_next_run(
    sim: Any, tenant: dict, set_conn: Any, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The degraded alert of the first check finds the mail server down (nothing delivered):
    the next check, same status and scopes, sends it instead of taking it as already sent."""
    import json
    import os
    import socket

    from tests.hook.conftest import conn_env

    working = os.environ[conn_env("smtp_default")]
    with socket.socket() as probe:  # a port nothing listens on: the mail server is down
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    monkeypatch.setenv(conn_env("smtp_default"), json.dumps({**json.loads(working),
                                                             "port": dead_port}))  # fmt: skip
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["restricted"]))
    engine = health_engine()
    check_connection(SendGridHook(sendgrid_conn_id=TEST_CONN), NEEDS, engine=engine,
                     settings=SETTINGS)  # fmt: skip
    assert read_health(engine, TEST_CONN)["status"] == "degraded"
    assert smtp_server.subjects() == []
    monkeypatch.setenv(conn_env("smtp_default"), working)  # the mail server is back
    for _ in range(2):  # sent once, then not again
        check_connection(SendGridHook(sendgrid_conn_id=TEST_CONN), NEEDS, engine=engine,
                         settings=SETTINGS)  # fmt: skip
    assert smtp_server.subjects() == [
        "[SendGrid] Acme Retail: some data is not collected (missing scopes)"
    ]


def test_a_partial_rerun_keeps_the_degraded_status_and_alerts_once(
    sim: Any, tenant: dict, set_conn: Any, smtp_server: Any
) -> None:
    """Missing scopes belong to the credential: a rerun of streams that need none of them keeps
    the tenant degraded, so the next full run does not alert a second time."""
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["restricted"]))
    engine = health_engine()
    for streams in (None, ["user_account"], None):
        hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
        report = check_connection(hook, streams, engine=engine, settings=SETTINGS)
        assert read_health(engine, TEST_CONN)["status"] == "degraded"
    assert report.skipped["global_stats"] == ("stats.read",)
    assert len(smtp_server.subjects()) == 1, smtp_server.subjects()


def test_reminder_after_the_configured_period(warehouse: Any) -> None:
    engine = health_engine()
    t0 = dt.datetime(2026, 11, 28, 8, tzinfo=dt.UTC)
    kinds = [
        record_health(
            engine,
            tenant_id="t",
            status="needs_reconnect",
            now=t0 + delta,
            reminder_after=dt.timedelta(hours=24),
        ).alert
        for delta in (
            dt.timedelta(0),
            dt.timedelta(hours=1),
            dt.timedelta(hours=25),
            dt.timedelta(hours=26),
        )
    ]
    assert kinds == ["needs_reconnect", None, "reminder", None]
    assert read_health(engine, "t")["status_since"] == t0


def test_a_run_failing_before_its_streams_never_says_access_restored(warehouse: Any) -> None:
    """A tenant to reconnect whose next run fails before it can tell (a 503 on the scope
    check, a timeout) stays to reconnect: no "access restored" alert, the reconnect reason
    kept. Before, the failure recorded ``degraded``, so the admin read "No action needed", and
    the next run alerted "needs to be reconnected" again as if new."""
    from sendgrid_elt.health_store import RUN_PROBLEM

    engine = health_engine()
    t0 = dt.datetime(2026, 11, 28, 8, tzinfo=dt.UTC)
    first = record_health(engine, tenant_id="t", status="needs_reconnect", now=t0,
                          reason="access_revoked", error="401: key revoked")  # fmt: skip
    assert first.alert == "needs_reconnect"
    failed = {RUN_PROBLEM: {"kind": "failed", "detail": "503 on /v3/scopes", "count": 0}}
    states, alerts = [], []
    for hours in (1, 2):
        update = record_health(engine, tenant_id="t", status="degraded", error="503",
                               stream_problems=failed, covered=[RUN_PROBLEM], succeeded=False,
                               now=t0 + dt.timedelta(hours=hours))  # fmt: skip
        states.append(update.status)
        alerts.append(update.alert)
    assert states == ["needs_reconnect", "needs_reconnect"]
    assert alerts == [None, None]
    row = read_health(engine, "t")
    assert (row["reason"], row["last_error"], row["status_since"]) == (
        "access_revoked",
        "401: key revoked",
        t0,
    )
    assert row["last_success_at"] is None
    # the run that gets through tells: access restored, once
    back = record_health(engine, tenant_id="t", status="connected", stream_problems={},
                         covered=[RUN_PROBLEM], now=t0 + dt.timedelta(hours=3))  # fmt: skip
    assert (back.status, back.alert) == ("connected", "reconnected")


@pytest.mark.parametrize(
    ("previous", "status", "expected"),
    [
        (None, "needs_reconnect", "needs_reconnect"),
        (None, "connected", None),
        ({"status": "connected"}, "degraded", "degraded"),
        ({"status": "degraded", "missing_scopes": ["a"]}, "degraded", None),
        ({"status": "degraded", "missing_scopes": ["a"]}, "degraded", "degraded"),
        (
            {"status": "needs_reconnect", "last_alert_at": None},
            "needs_reconnect",
            "needs_reconnect",
        ),
        ({"status": "needs_reconnect", "alert_kind": "reminder"}, "connected", "reconnected"),
        ({"status": "needs_reconnect"}, "degraded", "reconnected"),
    ],
)
def test_decide_alert(previous: dict | None, status: str, expected: str | None) -> None:
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    scopes = ["a", "b"] if expected == "degraded" and previous else ["a"]
    assert decide_alert(previous, status, now, dt.timedelta(hours=24), scopes) == expected


def test_access_restored_with_scopes_still_missing_says_what_to_do() -> None:
    """Reconnected with a key that lacks scopes: not "No action needed", but which scopes."""
    link = "https://airflow.example.com/sendgrid/connections?tenant=sg_tenant"
    args = {"tenant_id": "sg_tenant", "display_name": "Acme Retail", "reason": "", "link": link}
    subject, body = compose("reconnected", **args, missing_scopes=["stats.read", "teammates.read"])
    assert subject == "[SendGrid] Acme Retail: access restored, some data still missing"
    assert "lacks these scopes: stats.read, teammates.read." in body
    assert "No action needed" not in body
    assert body.endswith(f"\n{link}")  # on a line of its own: mail clients link it whole
    subject, body = compose("reconnected", **args)
    assert (subject, "No action needed" in body) == (
        "[SendGrid] Acme Retail: access restored",
        True,
    )


def test_alert_variables_that_cannot_be_read_never_lose_the_alert(
    warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An execution-API error while reading the alert Variables left no recipients: the
    reconnect alert went to the log only and counted as sent, so no one was ever told. Now it
    is released, and the next run (Variables readable again) sends it; a reminder period that
    is not a number falls back to the default instead of failing every batch."""
    from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import ErrorResponse

    from sendgrid_elt.connection_health import send_alert

    class Unavailable:  # a worker's channel while the API server restarts: an error frame
        def send(self, message: Any) -> Any:
            error = ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"status_code": 503})
            raise AirflowRuntimeError(error)

    with monkeypatch.context() as in_task:  # the SDK's Variable.get answers "unset" here
        in_task.setattr(task_runner, "SUPERVISOR_COMMS", Unavailable(), raising=False)
        settings = AlertSettings.from_airflow()
    assert settings.unread
    engine = health_engine()
    update = record_health(engine, tenant_id="acme_vars", status="needs_reconnect",
                           reason="revoked")  # fmt: skip
    assert update.alert == "needs_reconnect"
    assert send_alert(engine, update, display_name="Acme", reason="revoked",
                      settings=settings) == ["log"]  # fmt: skip
    again = record_health(engine, tenant_id="acme_vars", status="needs_reconnect",
                          reason="revoked")  # fmt: skip
    assert again.alert == "needs_reconnect"  # released: the next run alerts

    from sendgrid_elt.health_store import DEFAULT_REMINDER
    from sendgrid_elt.settings import RECONNECT_REMINDER_VARIABLE

    monkeypatch.setenv(f"AIRFLOW_VAR_{RECONNECT_REMINDER_VARIABLE.upper()}", "24h")

    assert AlertSettings.from_airflow().reminder_after == DEFAULT_REMINDER


@pytest.mark.parametrize(
    ("delivered", "failed", "unread", "release"),
    [
        (["log", "email"], [], True, False),  # a person was told
        (["log"], ["email"], False, True),  # the mail server was down
        (["log"], [], True, True),  # no recipients read: nobody was told
        (["log"], [], False, False),  # only the log was configured
    ],
)
def test_one_rule_releases_an_alert_nobody_received(
    delivered: list[str], failed: list[str], unread: bool, release: bool
) -> None:
    """Health and overage alerts share it: released when no external channel took the alert
    and one failed or the alert Variables could not be read."""
    from types import SimpleNamespace

    from sendgrid_elt.alert_settings import undelivered

    notifier = SimpleNamespace(delivered=delivered, failed=failed)
    assert undelivered(notifier, AlertSettings(unread=unread)) is release
