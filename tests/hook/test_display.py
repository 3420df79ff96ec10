"""What people read: instants in one format, counted nouns without "(s)"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sendgrid_hook.display import human_instant, plural


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "scope"), (Decimal("1"), "scope"), (0, "scopes"), (3, "scopes"), (None, "scopes")],
)
def test_plural_takes_the_singular_only_for_one(count: object, expected: str) -> None:
    assert plural("scope", count) == expected


def test_plural_takes_an_irregular_form() -> None:
    assert plural("entry", 2, "entries") == "entries"
    assert plural("entry", 1, "entries") == "entry"


def test_human_instant_is_utc_to_the_minute() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    seven_in_berlin = dt.datetime(2026, 11, 28, 7, 0, 59, tzinfo=berlin)
    assert human_instant(seven_in_berlin) == "2026-11-28 06:00 UTC"
    assert human_instant(dt.datetime(2026, 11, 28, 6, 0)) == "2026-11-28 06:00 UTC"
    assert human_instant(None) == "—"
