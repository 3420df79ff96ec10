"""Alert text from hostile or careless sources, through the real channels (SMTP, Slack webhook).

A tenant's display name comes from its Airflow connection's description (a multi-line text
box); an alert's reason quotes SendGrid's answers and names subusers (free text of the SendGrid
account). Neither may break the e-mail's headers, forge lines of the alert, or turn into Slack
markup (a mention that pages a whole channel, a link whose text hides its target).
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from sendgrid_hook.notifications.reconnect import ReconnectNotifier

from tests.hook.conftest import conn_env
from tests.hook.fake_api import serving

pytestmark = pytest.mark.usefixtures("airflow_home")
BASE = "https://airflow.example.com"
LINK = f"{BASE}/sendgrid/connections?tenant=sg_tenant"


def _notifier(**kwargs: Any) -> ReconnectNotifier:
    return ReconnectNotifier(tenant_id="sg_tenant", connect_base_url=BASE, **kwargs)


@pytest.mark.parametrize(
    "display_name",
    [
        "Acme Retail\nProduction",  # a two-line connection description
        "Acme Retail\r\nBcc: attacker@evil.example",  # a header smuggled in a description
        "Acme Retail\x1b[2J\u2028Production",  # an ANSI escape and a Unicode line separator
    ],
)
def test_a_display_name_with_a_line_break_gets_a_one_line_subject(
    display_name: str, smtp_server: Any
) -> None:
    notifier = _notifier(kind="needs_reconnect", reason="401", display_name=display_name,
                         to=["ops@example.com"])  # fmt: skip
    notifier.notify({})

    assert notifier.failed == []
    assert notifier.delivered == ["log", "email"]
    [mail] = smtp_server.messages
    subject = str(mail["Subject"])
    assert subject.startswith("[SendGrid] Acme Retail ")
    assert subject.endswith(" needs to be reconnected")
    assert not any(c in subject for c in "\r\n\x1b\u2028")
    assert mail["To"] == "ops@example.com"
    assert mail["Bcc"] is None
    assert mail.defects == []


def test_a_reason_cannot_forge_lines_of_the_alert(smtp_server: Any) -> None:
    """SendGrid's error text (or a subuser's name in it) is one line of the alert, not a fake
    'What to do' with another link."""
    forged = "401\nWhat to do: reconnect at https://evil.example/login"
    notifier = _notifier(kind="needs_reconnect", reason=forged, display_name="Acme",
                         to=["ops@example.com"])  # fmt: skip
    _, body = notifier.message()
    lines = body.splitlines()
    assert [line for line in lines if line.startswith("What to do")] == [
        line for line in lines if line.startswith("What to do: reconnect Acme")
    ]
    assert "Why: 401 What to do: reconnect at https://evil.example/login" in lines


class _SlackHook(BaseHTTPRequestHandler):
    """A Slack incoming webhook: keeps each posted JSON body."""

    posted: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        """No access log."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posted.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def test_slack_alerts_show_hostile_text_instead_of_running_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slack reads ``<!channel>`` as a mention of everyone and ``<url|text>`` as a link showing
    only its text: a subuser named so would page the channel, or hide a phishing link behind
    'Reconnect here' in an alert that asks to reconnect. Slack's rule: escape ``&``, ``<``, ``>``.
    """
    _SlackHook.posted = []
    reason = (
        "stream bounces: subusers skipped: <!channel>, <https://evil.example/login|Reconnect "
        "here>, tom&jerry"
    )
    with serving(_SlackHook) as url:
        monkeypatch.setenv(conn_env("slack_alerts"), json.dumps(
            {"conn_type": "slackwebhook", "password": f"{url}/services/T0/B0/xyz"}))  # fmt: skip
        notifier = _notifier(
            kind="degraded",
            reason=reason,
            display_name="Acme <@U024BE7LH>",
            slack_webhook_conn_id="slack_alerts",
            problems=["skipped_units"],
        )
        notifier.notify({})

    assert notifier.delivered == ["log", "slack"], notifier.failed
    [payload] = _SlackHook.posted
    text = payload["text"]
    assert "<!channel>" not in text
    assert "<https://evil.example" not in text
    assert "<@U024BE7LH>" not in text
    assert "&lt;!channel&gt;" in text
    assert "&lt;https://evil.example/login|Reconnect here&gt;" in text
    assert "Acme &lt;@U024BE7LH&gt;" in text
    assert "tom&amp;jerry" in text
    assert LINK in text  # the alert's own link stays a plain URL (Slack links it)


def test_slack_alerts_show_markup_characters_in_names_literally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name holding ``*``, ``_``, ``~`` or backticks was read as Slack markup: ``*urgent*``
    in bold, ``_old_`` in italics, ``~x~`` struck through, a backtick starting code that swallows
    the rest. Slack has no escape for them: the message turns the markup off (``mrkdwn:
    false``) and carries the names as they are."""
    _SlackHook.posted = []
    name = "Acme *urgent* _old_ ~x~ `y"
    reason = "stream bounces: subusers skipped: *all_users*, ~tmp~, ```code```"
    with serving(_SlackHook) as url:
        monkeypatch.setenv(conn_env("slack_alerts"), json.dumps(
            {"conn_type": "slackwebhook", "password": f"{url}/services/T0/B0/xyz"}))  # fmt: skip
        notifier = _notifier(kind="degraded", reason=reason, display_name=name,
                             slack_webhook_conn_id="slack_alerts",
                             problems=["skipped_units"])  # fmt: skip
        notifier.notify({})

    assert notifier.delivered == ["log", "slack"], notifier.failed
    [payload] = _SlackHook.posted
    assert payload["mrkdwn"] is False
    text = payload["text"]
    subject, _ = notifier.message()
    assert text.startswith(f"{subject}\n")  # no bold markup around the subject either
    assert name in subject
    assert "*all_users*, ~tmp~, ```code```" in text


def test_a_recipient_with_a_line_break_does_not_stop_the_alert_to_the_others(
    smtp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A tenant's ``alert_emails`` given as a JSON list keeps a line break inside an item: the
    message's To header then failed to build (or SMTP refused the RCPT), so nobody got the
    alert, the global recipients neither. The bad recipient is skipped and logged."""
    bad = "it@acme.example\nBcc: attacker@evil.example"
    notifier = _notifier(kind="needs_reconnect", reason="401", display_name="Acme",
                         to=["ops@example.com", bad])  # fmt: skip
    notifier.notify({})

    assert notifier.delivered == ["log", "email"], notifier.failed
    [mail] = smtp_server.messages
    assert mail["To"] == "ops@example.com"
    assert mail["Bcc"] is None
    skipped = [r.getMessage() for r in caplog.records if "recipient" in r.getMessage()]
    assert skipped == [
        "alert recipient skipped (a line break or control character in it): "
        "'it@acme.example\\nBcc: attacker@evil.example'"
    ]


def test_an_overage_alert_keeps_a_plan_name_on_its_line() -> None:
    """The plan's name is SendGrid's text (the account's plan, as read): a line break in it
    forged a second 'What to do' in the overage alert."""
    import datetime as dt
    from decimal import Decimal

    from sendgrid_elt.overage_alerts import OverageForecast, OverageNotifier

    forecast = OverageForecast(
        "acme", "Acme\nRetail", "Pro\nWhat to do: pay at https://evil.example/pay",
        dt.date(2026, 11, 1), dt.date(2026, 12, 1), 100, 90, 130, dt.date(2026, 11, 20), 30,
        Decimal("1.50"), "high", False, "projected to pass",
        dt.datetime(2026, 11, 15, tzinfo=dt.UTC),
    )  # fmt: skip
    subject, body = OverageNotifier(forecast=forecast, connect_base_url=BASE).message()
    assert subject == "[SendGrid] Acme Retail will run out of credits on 2026-11-20"
    lines = body.splitlines()
    assert lines[0].startswith(
        "Acme Retail (acme), plan Pro What to do: pay at https://evil.example/pay: projected"
    )
    assert [line for line in lines if line.startswith("What to do")] == [
        line for line in lines if line.startswith("What to do: slow non-essential sends")
    ]
