"""An API clock at the calendar's end fails at most the streams it concerns, never the tenant.

A ``Date: Fri, 31 Dec 9999 23:59:59 GMT`` header on ``/v3/scopes`` made the cursor bound of
date-cursor streams overflow before the per-stream guard: the tenant's run stopped there, the
streams after it never ran and their ``stream_status`` kept the previous run's ``ok``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sendgrid_elt import catalog, extract
from sendgrid_elt.stream_outcome import StreamsFailed
from sendgrid_elt.windows import cursor_limits

from .conftest import extractor

END = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def test_cursor_limits_at_the_calendar_s_end_do_not_overflow() -> None:
    stats = catalog.get("global_stats")  # a date cursor: its bound is the next day
    assert cursor_limits(stats, END, END.date()) == ("9999-12-31", None)
    bound, clock = cursor_limits(catalog.get("bounces"), END, END.date())
    assert clock == int(END.timestamp())
    assert bound > clock


def test_a_stream_whose_cursor_bound_fails_fails_alone(
    acme: Any, pg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong while bounding a stream's cursor is that stream's ``error``."""
    original = extract.cursor_limits

    def limits(spec: Any, now: Any, today: Any) -> Any:
        if spec.name == "blocks":
            raise OverflowError("date value out of range")
        return original(spec, now, today)

    monkeypatch.setattr(extract, "cursor_limits", limits)
    with pytest.raises(StreamsFailed) as failed:
        extractor(acme, pg).run(["bounces", "blocks", "unsubscribes"])
    outcomes = failed.value.outcomes
    assert {n: o.status for n, o in outcomes.items()} == {
        "bounces": "ok", "blocks": "error", "unsubscribes": "ok"}  # fmt: skip
    assert outcomes["blocks"].detail == "OverflowError: date value out of range"
