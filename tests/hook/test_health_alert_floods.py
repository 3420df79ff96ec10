"""Degraded alerts tell of new problems only, a resolved incident says so once, an alert that
was not delivered is sent again, and reminders keep to their period.

Before: any change in the set of failing streams sent a ``degraded`` alert, even when the set
only shrank (a 10-minute 503 storm alerted each tenant on each retry, with another subset of
streams each time); a degraded alert whose delivery failed was lost when only the problems had
changed; a reminder checked 5 seconds short of 24 hours waited another day; and nobody heard
that a degraded tenant was fine again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from typing import Any

import pytest
from sendgrid_hook.notifications.reconnect import compose
from sqlalchemy import text

from sendgrid_elt.connection_health import (
    AlertSettings,
    decide_alert,
    health_engine,
    read_health,
    record_health,
    send_alert,
)
from tests.hook.conftest import conn_env

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")
T0 = dt.datetime(2026, 11, 28, 0, 5, tzinfo=dt.UTC)
STREAMS = ["bounces", "blocks", "spam_reports", "global_stats"]
SETTINGS = AlertSettings(to=("ops@example.com",), connect_base_url="https://airflow.example.com")


def _failed(*streams: str, kind: str = "failed") -> dict[str, dict[str, Any]]:
    return {s: {"kind": kind, "detail": "503 Service Unavailable", "count": 0} for s in streams}


def _record(engine: Any, problems: dict, minutes: int, scopes: list[str] | None = None) -> Any:
    """The end of one try: the streams of the run, these of them with problems."""
    return record_health(engine, tenant_id="acme", status="connected", stream_problems=problems,
                         covered=STREAMS, missing_scopes=scopes or [],
                         now=T0 + dt.timedelta(minutes=minutes))  # fmt: skip


def test_a_503_storm_alerts_per_new_problem_not_per_retry_and_resolves_once() -> None:
    engine = health_engine()
    tries = [
        _failed("bounces", "blocks"),  # first try: two streams fail -> alert
        _failed("blocks"),  # retry: fewer -> nothing
        _failed("bounces"),  # another subset of the told ones -> nothing
        _failed("bounces", "blocks"),  # the same as told -> nothing
        _failed("spam_reports"),  # a stream not told yet -> alert
        _failed("spam_reports", kind="rejected"),  # a new kind of problem -> alert
        {},  # all loaded: resolved, once
        {},
        _failed("bounces"),  # a new incident -> alert
    ]
    alerts = [_record(engine, problems, minute).alert for minute, problems in enumerate(tries)]
    assert alerts == [
        "degraded", None, None, None, "degraded", "degraded", "resolved", None, "degraded"
    ]  # fmt: skip
    assert read_health(engine, "acme")["alerts_sent"] == 5


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (["a", "b"], ["a"], None),  # a scope granted: nothing to tell
        (["a"], ["a", "b"], "degraded"),  # a scope lost
        (["a"], [], "resolved"),  # nothing missing any more
    ],
)
def test_missing_scopes_alert_when_one_is_lost_not_when_one_is_granted(
    before: list[str], after: list[str], expected: str | None
) -> None:
    engine = health_engine()
    assert _record(engine, {}, 0, scopes=before).alert == "degraded"
    assert _record(engine, {}, 1, scopes=after).alert == expected


def test_decide_alert_on_a_row_from_before_the_told_problems_were_kept() -> None:
    """A row written by the old code (``alerted_problems`` NULL) had alerted its stored
    problems: the same or fewer are not alerted again after the upgrade."""
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    old_row = {"status": "degraded", "missing_scopes": ["a"], "stream_problems": _failed("x"),
               "status_since": now, "last_alert_at": now, "alert_kind": "degraded"}  # fmt: skip
    day = dt.timedelta(hours=24)
    assert decide_alert(old_row, "degraded", now, day, ["a"], _failed("x")) is None
    assert decide_alert(old_row, "degraded", now, day, [], _failed("x")) is None
    assert decide_alert(old_row, "degraded", now, day, ["a"], _failed("x", "y")) == "degraded"
    assert decide_alert(old_row, "connected", now, day, [], {}) == "resolved"


def test_an_upgraded_row_is_not_alerted_again(warehouse: Any) -> None:
    engine = health_engine()
    assert _record(engine, _failed("bounces"), 0).alert == "degraded"
    with engine.begin() as conn:  # as the old code left it
        conn.execute(text("update sendgrid_staging.connection_health set alerted_problems = null"))
    assert _record(engine, _failed("bounces"), 1).alert is None
    assert _record(engine, {}, 2).alert == "resolved"


@pytest.fixture
def mail_down(smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Switch the SMTP connection to a port nothing listens on, and back."""
    working = os.environ[conn_env("smtp_default")]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = json.dumps({**json.loads(working), "port": probe.getsockname()[1]})

    def down(is_down: bool) -> None:
        monkeypatch.setenv(conn_env("smtp_default"), dead if is_down else working)

    return down


def _tell(engine: Any, problems: dict, minutes: int) -> Any:
    update = _record(engine, problems, minutes)
    send_alert(engine, update, display_name="Acme Retail", settings=SETTINGS,
               reason=", ".join(sorted(problems)))  # fmt: skip
    return update


def test_a_degraded_alert_not_delivered_is_sent_by_the_next_run(
    smtp_server: Any, mail_down: Any
) -> None:
    """Only the problems changed (the status stayed degraded): the undelivered alert used to
    count as sent, since ``release_alert`` restored the alert time and not what it told."""
    engine = health_engine()
    assert _tell(engine, _failed("bounces"), 0).alert == "degraded"
    mail_down(True)
    assert _tell(engine, _failed("bounces", "blocks"), 1).alert == "degraded"  # not delivered
    mail_down(False)
    alerts = [_tell(engine, _failed("bounces", "blocks"), m).alert for m in (2, 3)]
    assert alerts == ["degraded", None]  # sent by the next run, then not again
    subject = (
        "[SendGrid] Acme Retail: some data is not collected (some streams failed or "
        "rejected records)"
    )
    assert smtp_server.subjects() == [subject, subject]


def test_the_resolved_notice_names_what_was_told_and_is_retried_when_undelivered(
    smtp_server: Any, mail_down: Any
) -> None:
    engine = health_engine()
    _tell(engine, _failed("bounces"), 0)
    _tell(engine, _failed("bounces", "blocks"), 1)
    mail_down(True)
    assert _tell(engine, {}, 2).alert == "resolved"  # not delivered
    mail_down(False)
    assert [_tell(engine, {}, m).alert for m in (3, 4)] == ["resolved", None]
    resolved = "[SendGrid] Acme Retail: resolved, all data collected again"
    assert smtp_server.subjects()[2:] == [resolved]  # once, after the two degraded alerts
    body = "".join(
        part.get_payload(decode=True).decode()
        for part in smtp_server.messages[-1].walk()
        if part.get_payload(decode=True)
    )
    assert "Reported earlier: stream blocks failed; stream bounces failed." in body
    assert "No action needed." in body


def _reminder_after(after: dt.timedelta) -> str | None:
    """The alert of a tenant still to reconnect ``after`` its first alert."""
    engine = health_engine()
    tenant = f"t{after.total_seconds():.0f}"
    first = record_health(engine, tenant_id=tenant, status="needs_reconnect", now=T0)
    assert first.alert == "needs_reconnect"
    again = record_health(engine, tenant_id=tenant, status="needs_reconnect", now=T0 + after,
                          reminder_after=dt.timedelta(hours=24))  # fmt: skip
    return again.alert


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (dt.timedelta(hours=24) - dt.timedelta(seconds=5), "reminder"),  # the next daily run
        (dt.timedelta(hours=22), "reminder"),  # a run that started two hours early
        (dt.timedelta(hours=20), None),
        (dt.timedelta(hours=1), None),
    ],
)
def test_a_daily_reminder_is_not_skipped_for_a_few_seconds(
    after: dt.timedelta, expected: str | None
) -> None:
    assert _reminder_after(after) == expected


def test_the_reminder_slack_boundary() -> None:
    from sendgrid_elt import health_store

    due = dt.timedelta(hours=24) * (1 - health_store.REMINDER_SLACK)
    assert dt.timedelta(hours=20) < due <= dt.timedelta(hours=22)
    assert _reminder_after(due) == "reminder"
    assert _reminder_after(due - dt.timedelta(seconds=1)) is None


def test_the_reconnect_alert_says_what_a_retry_does() -> None:
    """The alert said the tenant's runs "fail without retrying"; a batch retried for another
    tenant's passing failure tries the revoked tenant again (without another alert)."""
    _, body = compose("needs_reconnect", tenant_id="t", display_name="Acme", reason="401",
                      link="https://airflow.example.com/x")  # fmt: skip
    assert "without retrying" not in body
    assert "a retry for another tenant's passing failure tries it again" in body


def test_a_told_problem_gone_for_a_day_alerts_again_while_the_tenant_stays_degraded() -> None:
    """A tenant that stays degraded (a scope it will never grant) is still told when a stream
    fails again after a day without failing; within the day a retry's flip is no news."""
    engine = health_engine()
    day = 24 * 60
    steps = [
        (0, _failed("bounces")),  # the scope and the stream: alert
        (1, {}),  # bounces loaded again (the scope still missing: degraded, nothing to tell)
        (30, _failed("bounces")),  # half an hour later, failing again: the same incident
        (31, {}),
        (31 + day, _failed("bounces")),  # a day and more without it: a new incident
        (32 + day, _failed("bounces")),
    ]
    alerts = [_record(engine, problems, minute, scopes=["stats.read"]).alert
              for minute, problems in steps]  # fmt: skip
    assert alerts == ["degraded", None, None, None, "degraded", None]


def test_the_resolved_notice_of_a_row_from_an_earlier_version_names_its_problem(
    smtp_server: Any,
) -> None:
    """A row the old code left (``alerted_problems`` NULL) resolves with a notice naming what
    it had alerted (before: the notice read the raw NULL and raised)."""
    engine = health_engine()
    _tell(engine, _failed("bounces"), 0)
    with engine.begin() as conn:  # as the old code left it
        conn.execute(text("update sendgrid_staging.connection_health set alerted_problems = null"))
    assert _tell(engine, {}, 1).alert == "resolved"
    body = "".join(
        part.get_payload(decode=True).decode()
        for part in smtp_server.messages[-1].walk()
        if part.get_payload(decode=True)
    )
    assert "Reported earlier: stream bounces failed." in body
