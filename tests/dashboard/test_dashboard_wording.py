"""Words that agree with their counts on the dashboard (rendered without a database)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from sendgrid_dashboard.render import _env


def _unknown_activity_text(kind: str, unknown: int) -> str:
    row = {
        "seat_kind": kind,
        "seats_total": 3,
        "seats_enabled": 3,
        "seats_active_30d": None,
        "seats_active_60d": None,
        "seats_active_90d": None,
        "seats_inactive_90d": None,
        "seats_activity_unknown": unknown,
    }
    html = _env.get_template("seat_activity_card.html.j2").render(
        t=SimpleNamespace(seat_activity=[row]), tid="acme"
    )
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    return text[text.index("Seats") :]


@pytest.mark.parametrize(
    ("kind", "count", "words"),
    [
        ("teammate", 1, "1 teammate of unknown activity"),
        ("teammate", 2, "2 teammates of unknown activity"),
        ("subuser", 1, "1 subuser of unknown activity"),
        ("subuser", 5, "5 subusers of unknown activity"),
    ],
)
def test_seats_of_unknown_activity_agree_with_their_count(
    kind: str, count: int, words: str
) -> None:
    """The card said "1 teammates of unknown activity"."""
    assert words in _unknown_activity_text(kind, count)
