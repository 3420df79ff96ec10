"""The degraded alert's advice matches its problems.

Before: every degraded e-mail said "Failed streams are retried by the next run; rejected
records are kept in ..." even when the only problem was a subuser SendGrid refused, which no
rerun fixes and which the admin can act on (the subuser's region, its access). Real SMTP
server and PostgreSQL through ``record_health`` and ``send_alert``.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from sendgrid_hook.notifications.reconnect import compose

from sendgrid_elt.connection_health import (
    AlertSettings,
    health_engine,
    record_health,
    send_alert,
    stream_problems,
)

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")
T0 = dt.datetime(2026, 11, 28, 0, 5, tzinfo=dt.UTC)
SETTINGS = AlertSettings(to=("ops@example.com",), connect_base_url="https://airflow.example.com")
EU = "451: data in another region, connect it with region eu"
RETRIED = "Failed streams are retried by the next run"
REJECTS = "staging table `rejects`"


def _body(message: Any) -> str:
    return "".join(part.get_payload(decode=True).decode() for part in message.walk()
                   if part.get_payload(decode=True))  # fmt: skip


def _alert(outcomes: dict[str, Any]) -> None:
    engine = health_engine()
    problems = stream_problems(outcomes)
    update = record_health(engine, tenant_id="acme", status="connected", stream_problems=problems,
                           covered=list(outcomes), now=T0)  # fmt: skip
    assert update.alert == "degraded"
    from sendgrid_elt.health_problems import problems_text

    send_alert(engine, update, display_name="Acme Retail", settings=SETTINGS,
               reason=problems_text(update.stream_problems))  # fmt: skip


def test_a_refused_subuser_alone_gets_advice_about_subusers(smtp_server: Any) -> None:
    skipped = SimpleNamespace(status="ok", detail=None, rejected=0, skipped={"eu-team": EU})
    _alert({"user_account": skipped})
    [message] = smtp_server.messages
    body = _body(message)
    assert message["Subject"].endswith("some data is not collected (subusers refused)")
    assert "eu-team (451: data in another region" in body
    assert "connect it as its own tenant with region eu" in body
    assert "check that the subuser is enabled" in body
    assert RETRIED not in body
    assert REJECTS not in body


def test_failed_and_rejected_keep_their_advice_and_a_refused_subuser_adds_its_own(
    smtp_server: Any,
) -> None:
    _alert({
        "bounces": SimpleNamespace(status="error", detail="503 after 5 retries", rejected=0),
        "blocks": SimpleNamespace(status="ok", detail=None, rejected=2),
        "user_account": SimpleNamespace(status="ok", detail=None, rejected=0,
                                        skipped={"bob": "403"}),
    })  # fmt: skip
    body = _body(smtp_server.messages[-1])
    assert RETRIED in body
    assert REJECTS in body
    assert "SendGrid refused the subusers named above" in body


def test_compose_without_problem_kinds_keeps_the_general_advice() -> None:
    """A caller that names no kinds (an older one) gets the advice for failed and rejected."""
    subject, body = compose("degraded", tenant_id="t", display_name="Acme", link="https://x/y",
                            reason="stream bounces failed (503)")  # fmt: skip
    assert subject.endswith("(some streams failed or rejected records)")
    assert RETRIED in body
    assert REJECTS in body
    assert "refused the subusers" not in body


def test_a_held_deletion_alone_gets_advice_about_held_deletions(smtp_server: Any) -> None:
    """A snapshot's mass deletion held (``held_deletions``): the alert says the rows were kept
    and the next run decides, not that a failed stream is retried or records rejected."""
    why = "deletion of 20 of 20 keys held for subuser bob until the next complete read agrees"
    held = SimpleNamespace(status="ok", detail=why, rejected=0, held={"bob": why})
    _alert({"api_keys": held})
    [message] = smtp_server.messages
    body = _body(message)
    assert message["Subject"].endswith("some data is not collected (deletions held)")
    assert why in body
    assert "their rows were kept, none marked deleted" in body
    assert RETRIED not in body
    assert REJECTS not in body


def test_refused_ids_alone_get_advice_about_refused_ids(smtp_server: Any) -> None:
    """API keys refused while their list reads (``refused_ids``): the alert names them and says
    their data is missing, not that a failed stream is retried or records rejected. Before:
    no problem at all (no alert); a kind without advice read as failed or rejected."""
    refused = SimpleNamespace(status="ok", detail=None, rejected=0,
                              refused={"key-1": "403", "key-2": "403"})  # fmt: skip
    _alert({"api_key_scopes": refused})
    [message] = smtp_server.messages
    body = _body(message)
    assert message["Subject"].endswith("some data is not collected (ids refused)")
    assert "2 parent ids refused, rows kept: key-1 (403), key-2 (403)" in body
    assert "SendGrid refused the ids named above" in body
    assert RETRIED not in body
    assert REJECTS not in body
