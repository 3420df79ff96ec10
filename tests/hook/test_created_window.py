"""Suppression lists paged over a narrowing ``created`` window, against a list that changes.

A real socket serves a suppression-like list (``start_time``/``end_time`` inclusive,
``limit``/``offset``) in either order; a row can be deleted between two requests, as a
customer removing a bounce while the extractor reads. Plain offsets would skip the row at the
page boundary; ``created_window`` reads every row that was there for the whole read, once (and
so does ``offset``, by its one-row overlap: ``test_offset_overlap``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from sendgrid_hook.hooks.sendgrid import SendGridHook

from .fake_api import JsonHandler, serving_hook

PAGE = 4


class SuppressionList(JsonHandler):
    """``/v3/suppression/bounces`` over :attr:`rows`; deletes :attr:`delete_after` rows."""

    rows: ClassVar[list[dict[str, Any]]] = []
    newest_first: ClassVar[bool] = False
    delete_after: ClassVar[dict[int, str]] = {}  # after request n, delete this email
    not_objects: ClassVar[set[str]] = set()  # these emails' records are served as 42
    requests: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        cls = type(self)
        cls.requests.append(q)
        lo, hi = int(q.get("start_time", -1)), int(q.get("end_time", 2**62))
        window = [r for r in cls.rows if lo <= r["created"] <= hi]
        if cls.newest_first:
            window = sorted(window, key=lambda r: -r["created"])  # stable: ties keep their order
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", PAGE))
        body: list[Any] = window[offset : offset + limit]
        body = [42 if r["email"] in cls.not_objects else r for r in body]
        gone = cls.delete_after.get(len(cls.requests))
        if gone is not None:
            cls.rows = [r for r in cls.rows if r["email"] != gone]
        self.send(200, json.dumps(body).encode(), {})


@pytest.fixture
def served(set_conn: Any) -> Iterator[SendGridHook]:
    SuppressionList.requests = []
    with serving_hook(SuppressionList, set_conn, "sg_shifting", max_pages=50) as hook:
        yield hook


def _list(
    created: list[int], *, newest_first: bool = False, delete: dict | None = None,
    not_objects: frozenset[str] = frozenset(),
) -> None:  # fmt: skip
    SuppressionList.rows = [{"created": c, "email": f"e{i}@x.test"} for i, c in enumerate(created)]
    SuppressionList.newest_first = newest_first
    SuppressionList.delete_after = delete or {}
    SuppressionList.not_objects = set(not_objects)


def _read(hook: SendGridHook, pagination: str, **params: Any) -> list[str]:
    records = hook.iter_records("/v3/suppression/bounces", pagination=pagination,
                                records_path=None, page_size=PAGE, params=params)  # fmt: skip
    return [r["email"] for r in records]


EVERY_SECOND = list(range(1000, 1012))  # 12 rows, one a second: 3 full pages
SURVIVORS = {f"e{i}@x.test" for i in range(12)} - {"e1@x.test"}


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest-first", "newest-first"])
def test_a_row_deleted_mid_read_shifts_no_unread_row(
    served: SendGridHook, newest_first: bool
) -> None:
    """After page 1, a row of page 1 is deleted: every other row is still read, each once."""
    deleted = "e10@x.test" if newest_first else "e1@x.test"
    _list(EVERY_SECOND, newest_first=newest_first, delete={1: deleted})
    emails = _read(served, "created_window", start_time=1000)
    assert len(emails) == len(set(emails))
    assert set(emails) >= {f"e{i}@x.test" for i in range(12)} - {deleted}
    second = SuppressionList.requests[1]
    assert second["offset"] == "0"  # the window moved, not the offset
    if newest_first:
        assert (second["start_time"], second["end_time"]) == ("1000", "1008")
    else:
        assert (second["start_time"], second.get("end_time")) == ("1003", None)


@pytest.mark.parametrize("pagination", ["created_window", "offset"])
def test_no_paginator_skips_the_row_at_the_boundary(served: SendGridHook, pagination: str) -> None:
    """The failure both prevent: plain offsets lost ``e4`` (moved up past the boundary by the
    deletion), and a cursor moved past it, 1011 > 1004, for good."""
    _list(EVERY_SECOND, delete={1: "e1@x.test"})
    emails = _read(served, pagination, start_time=1000)
    assert "e4@x.test" in emails
    assert set(emails) >= SURVIVORS
    assert len(emails) == len(set(emails))


def test_rows_of_one_second_beyond_a_page_are_read_by_offset(served: SendGridHook) -> None:
    """Nine rows share second 1001 (more than a page): the window cannot narrow inside it."""
    _list([1000] + [1001] * 9 + [1002, 1003])
    emails = _read(served, "created_window")
    assert sorted(emails) == sorted(r["email"] for r in SuppressionList.rows)
    assert len(emails) == 12


def test_the_boundary_second_is_read_again_and_not_yielded_twice(served: SendGridHook) -> None:
    """Pages end inside seconds 1001 to 1004: each next page starts at that second, and its
    rows already read are dropped."""
    _list([1000, 1000, 1000, 1001, 1001, 1002, 1002, 1003, 1003, 1003, 1004])
    emails = _read(served, "created_window")
    assert emails == [f"e{i}@x.test" for i in range(11)]
    assert [q.get("start_time") for q in SuppressionList.requests] == [
        None,
        "1001",
        "1002",
        "1003",
        "1004",
    ]


def test_unsorted_pages_fall_back_to_offsets(served: SendGridHook) -> None:
    """A list not ordered by ``created`` cannot be narrowed safely: offsets, all rows."""
    _list([1005, 1001, 1009, 1000, 1003, 1002, 1008, 1004, 1007, 1006])
    emails = _read(served, "created_window")
    assert sorted(emails) == sorted(r["email"] for r in SuppressionList.rows)
    assert [q["offset"] for q in SuppressionList.requests] == ["0", "4", "8"]


def test_a_newest_first_list_keeps_its_order_through_a_page_of_one_second(
    served: SendGridHook,
) -> None:
    """Second 1001 fills the second page: that page alone looks sorted both ways, and the
    window must still end (not start) at 1001, or rows 1000 are never asked for."""
    _list([1000] * 3 + [1001] * 6 + [1002] * 2, newest_first=True)
    emails = _read(served, "created_window")
    assert sorted(emails) == sorted(r["email"] for r in SuppressionList.rows)
    assert len(emails) == 11
    assert all("start_time" not in q for q in SuppressionList.requests)


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest-first", "newest-first"])
def test_a_record_that_is_no_object_after_a_full_page_is_kept_for_the_shaper(
    served: SendGridHook, newest_first: bool
) -> None:
    """Page 2 (after a full page narrowed the window) holds ``42``: it is returned like any
    record (the shaper rejects it: ``record not an object``) and every other row is read once;
    it once raised ``AttributeError`` on every run and stopped the whole unit."""
    poisoned = "e5@x.test" if not newest_first else "e6@x.test"
    _list(EVERY_SECOND, newest_first=newest_first, not_objects=frozenset({poisoned}))
    records = list(served.iter_records("/v3/suppression/bounces", pagination="created_window",
                                       records_path=None, page_size=PAGE))  # fmt: skip
    assert records.count(42) == 1
    emails = [r["email"] for r in records if isinstance(r, dict)]
    assert sorted(emails) == sorted({f"e{i}@x.test" for i in range(12)} - {poisoned})
    assert "start_time" in SuppressionList.requests[1] or "end_time" in SuppressionList.requests[1]
