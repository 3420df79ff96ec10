"""A subuser name with a line break or a terminal escape forges no log line, and is shown.

Subuser names come from the SendGrid account's list. One named ``"x\\n[time] INFO - all
fine\\x1b[2J"`` was written as is into the task log (a second, fake log line; an escape that
clears an admin's terminal under ``make demo``) and into ``stream_status.detail``, which the
health alerts and the Connect page quote. Now each non-printable character is written as its
escape (``\\n``, ``\\x1b``): the line shows what the name holds. The name itself is stored as
SendGrid gave it, and the other subusers load.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

from sendgrid_elt.extract_load import load_tenant, prepare_staging
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import connection_json, staged_keys

pytestmark = pytest.mark.usefixtures("airflow_home")
FORGED = "[2026-12-07 12:00:00] INFO - all fine"
NAME = f"0evil\n{FORGED}\x1b[2J\u202e"
SHOWN = "0evil\\n" + FORGED + "\\x1b[2J\\u202e"


def test_a_subuser_name_with_control_characters_forges_no_log_line(
    sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    acme = sim.accounts["tenants"][0]
    subusers = sim.control.rename_subuser(acme["tenant_id"], acme["subusers"][0], NAME)
    others = sorted(s for s in subusers if s != NAME)
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    prepare_staging()
    caplog.set_level(logging.INFO)
    # the name cannot be sent as on-behalf-of: the unit is a reject, not read (test_long_labels)
    load_tenant("acme", "r1", streams=["subusers", "bounces"])

    ours = [r.getMessage() for r in caplog.records if r.name.startswith("sendgrid")]
    naming = [m for m in ours if "0evil" in m]
    assert naming  # the unit left unread is logged, naming it
    for message in ours:
        assert "\x1b" not in message, message
        assert "\u202e" not in message, message
        assert not any(line.startswith(FORGED) for line in message.splitlines()), message
    assert any(SHOWN in m for m in naming), naming

    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        [(detail,)] = conn.execute(
            f'select detail from "{STAGING_SCHEMA}".stream_status '  # noqa: S608
            "where tenant_id = 'acme' and stream = 'bounces'"
        ).fetchall()
        assert SHOWN in detail
        assert "\n" not in detail
        stored = [n for (n,) in conn.execute(
            f'select record->>\'username\' from "{STAGING_SCHEMA}".subusers'  # noqa: S608
            " where tenant_id = 'acme'")]  # fmt: skip
        assert NAME in stored  # the data itself is kept as SendGrid gave it
        truth = sim.control.truth()["tenants"][0]["subusers"]
        for sub in others:  # the subusers after it still load
            want = truth[sub]["suppressions"]["bounces"]
            assert len(staged_keys(conn, "acme", "bounces", sub)) == want, sub


def test_a_refused_subuser_named_with_a_line_break_is_one_line_in_the_health_problems() -> None:
    """A subuser SendGrid refuses by id (``subuser_stats`` reads names in the query, which a
    line break does not stop) is named in the health problem's detail, which the health log line
    and the alerts quote: written with its escapes."""
    from types import SimpleNamespace

    from sendgrid_elt.health_problems import problems_text, stream_problems

    outcome = SimpleNamespace(status="ok", detail=None, rejected=0, skipped={NAME: "403"})
    problems = stream_problems({"subuser_stats": outcome})
    text = problems_text(problems)
    assert SHOWN in problems["subuser_stats"]["detail"]
    assert problems["subuser_stats"]["subusers"] == [NAME]  # the name itself, for the told keys
    assert not any(c in text for c in "\n\x1b\u202e"), text


def test_a_reason_cut_short_says_so() -> None:
    """A long SendGrid message (or many units' names) is cut to fit a detail, a health problem
    and an alert: the cut ends with "…" instead of mid-word as if the text were whole."""
    from types import SimpleNamespace

    from sendgrid_hook.errors import SendGridFatalError

    from sendgrid_elt.health_problems import stream_problems
    from sendgrid_elt.stream_outcome import failure

    long_message = "400 " + "subuser does not exist; " * 50
    reason = failure(SendGridFatalError(long_message))
    assert len(reason) == 200
    assert reason.endswith("…")
    assert failure(SendGridFatalError("400 short")) == "SendGridFatalError: 400 short"

    outcome = SimpleNamespace(status="error", detail=long_message, rejected=0)
    detail = stream_problems({"bounces": outcome})["bounces"]["detail"]
    assert len(detail) == 300
    assert detail.endswith("…")
    skipped = SimpleNamespace(status="ok", detail=None, rejected=0,
                              skipped={f"sub{i:03d}": "403" for i in range(40)})  # fmt: skip
    assert stream_problems({"bounces": skipped})["bounces"]["detail"].endswith("…")


def test_every_cut_of_a_reason_says_so() -> None:
    """The refused ids of a stream's detail, a batch's refusal by PostgreSQL, SendGrid's
    ``errors`` messages and a health row's last error were cut short silently (``[:300]``):
    each now ends with "…" when cut, and is whole when it fits."""
    from sendgrid_hook.page_records import _messages

    from sendgrid_elt.loader import _first_line
    from sendgrid_elt.stream_outcome import units_detail

    refused = [f"sub{i:03d} (403 access forbidden)" for i in range(40)]
    detail = units_detail({}, [], refused, {}, [], [])
    assert detail is not None
    assert (len(detail), detail[-1]) == (300, "…"), detail
    assert units_detail({}, [], refused[:1], {}, [], []) == (
        "parent ids refused, rows kept: sub000 (403 access forbidden)"
    )
    cut = _first_line(ValueError("invalid input syntax " * 40 + "\nsecond line"))
    assert (len(cut), cut[-1]) == (300, "…"), cut
    assert _first_line(ValueError("short\nsecond")) == "short"
    messages = _messages([{"message": "x" * 150}, {"message": "y" * 150}])
    assert (len(messages), messages[-1]) == (200, "…"), messages


def test_a_refused_subuser_whose_check_fails_is_one_log_line(
    sim: Any, hostile: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whether a refused subuser still exists is asked of SendGrid; when that check fails, the
    warning named the subuser as is (a line break in the name forged a log line)."""
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    from sendgrid_elt.subuser_roster import SubuserRoster

    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    hostile(paths=["/v3/subusers"], answer_status=400, answer_message="bad request")
    caplog.set_level(logging.WARNING, logger="sendgrid_elt.subuser_roster")
    assert SubuserRoster(SendGridHook(sendgrid_conn_id="acme")).left(NAME) is None
    [line] = [r.getMessage() for r in caplog.records if r.name == "sendgrid_elt.subuser_roster"]
    assert line.startswith(f"subuser {SHOWN} refused; whether it still exists is unknown"), line
    assert "\n" not in line
