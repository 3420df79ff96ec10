"""A subuser SendGrid newly refuses is a new problem (one degraded alert), one told is not.

Before: a stream's refused subusers were one problem, ``stream:<name>:skipped_units``; once an
alert had told of one refused subuser, a second one refused on the same stream raised no alert
(its volume silently missing too). Now each refused subuser is its own problem key
(``stream:<name>:skipped_units:<subuser>``); rows an earlier version wrote (its unnamed key,
its ``stream_problems`` without ``subusers``, or ``alerted_problems`` NULL) are still read.
Real PostgreSQL through ``record_health``.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text

from sendgrid_elt.connection_health import (
    health_engine,
    read_health,
    record_health,
    stream_problems,
)

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")
T0 = dt.datetime(2026, 11, 28, 0, 5, tzinfo=dt.UTC)
STREAM = "user_account"


def _refused(*subusers: str) -> dict[str, Any]:
    """The run's outcome of ``user_account`` with these subusers refused (403)."""
    outcome = SimpleNamespace(status="ok", detail=None, rejected=0,
                              skipped=dict.fromkeys(subusers, "403"))  # fmt: skip
    return {STREAM: outcome}


def _record(outcomes: dict[str, Any], minutes: int) -> Any:
    return record_health(health_engine(), tenant_id="acme", status="connected",
                         stream_problems=stream_problems(outcomes), covered=list(outcomes),
                         now=T0 + dt.timedelta(minutes=minutes))  # fmt: skip


def _as_an_earlier_version_left_it(alerted: Any) -> None:
    """Rewrite the row as the previous version stored it: no subuser named anywhere."""
    old = {STREAM: {"kind": "skipped_units", "detail": "1 subuser skipped, rows kept: alice (403)",
                    "count": 1, "rejected": 0}}  # fmt: skip
    with health_engine().begin() as conn:
        conn.execute(
            text("update sendgrid_staging.connection_health set stream_problems = "
                 "cast(:problems as jsonb), alerted_problems = cast(:alerted as jsonb)"),
            {"problems": json.dumps(old),
             "alerted": None if alerted is None else json.dumps(alerted)},
        )  # fmt: skip


def test_a_second_refused_subuser_on_a_told_stream_alerts_once() -> None:
    alerts = [
        _record(_refused("alice"), 0).alert,  # told: alice
        _record(_refused("alice"), 1).alert,  # alice again: nothing
        _record(_refused("alice", "bob"), 2).alert,  # bob is new: one alert
        _record(_refused("alice", "bob"), 3).alert,  # both again: nothing
        _record(_refused("bob"), 4).alert,  # fewer: nothing
    ]
    assert alerts == ["degraded", None, "degraded", None, None]
    row = read_health(health_engine(), "acme")
    assert sorted(row["alerted_problems"]) == [
        f"stream:{STREAM}:skipped_units:alice",
        f"stream:{STREAM}:skipped_units:bob",
    ]
    assert row["stream_problems"][STREAM]["subusers"] == ["bob"]
    resolved = _record({STREAM: SimpleNamespace(status="ok", detail=None, rejected=0)}, 5)
    assert resolved.alert == "resolved"
    from sendgrid_elt.health_problems import told_text

    assert told_text(resolved.told) == f"stream {STREAM} skipped subusers (alice, bob)"


@pytest.mark.parametrize(
    "alerted",
    [
        {f"stream:{STREAM}:skipped_units": T0.isoformat()},  # the previous version's key
        None,  # a row from before alerted_problems was kept
    ],
)
def test_a_row_an_earlier_version_wrote_is_read_without_a_repeat_alert(alerted: Any) -> None:
    """The unnamed key told of the one subuser it counted: alice refused again after the
    upgrade is no news; a second subuser is (more than the earlier alert counted)."""
    assert _record(_refused("alice"), 0).alert == "degraded"
    _as_an_earlier_version_left_it(alerted)
    assert _record(_refused("alice"), 1).alert is None
    assert _record(_refused("alice", "bob"), 2).alert == "degraded"
    assert _record(_refused("alice", "bob"), 3).alert is None


def test_a_row_an_earlier_version_wrote_alerts_for_more_subusers_than_it_told() -> None:
    assert _record(_refused("alice"), 0).alert == "degraded"
    _as_an_earlier_version_left_it({f"stream:{STREAM}:skipped_units": T0.isoformat()})
    assert _record(_refused("alice", "bob"), 1).alert == "degraded"
    assert _record(_refused("alice", "bob"), 2).alert is None
