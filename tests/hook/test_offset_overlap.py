"""Offset-only lists paged with overlapping pages, against a list that changes mid-read.

A real socket serves ``/v3/rows`` by ``limit``/``offset`` (a ``Link`` header on request), and
the list can change after any request: a row deleted before the page boundary (a customer
removing a teammate while the extractor reads), or inserted. Plain offsets lose the row at the
next boundary (a snapshot would mark it deleted for a run); ``offset`` pages overlap by one
row, notice the shift and read the moved rows again, each once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from sendgrid_hook.errors import SendGridPaginationError
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_hook.offset_paging import OffsetPaginator

from .fake_api import JsonHandler, serving_hook

PAGE = 4
Change = Callable[[list[dict[str, Any]]], None]


class Rows(JsonHandler):
    """``/v3/rows``: :attr:`rows` by ``limit``/``offset``; applies :attr:`changes` after a request.

    ``changes[n]`` runs after request ``n`` (1-based) is answered; ``changes[0]`` after every
    request.
    """

    rows: ClassVar[list[dict[str, Any]]] = []
    changes: ClassVar[dict[int, Change]] = {}
    link: ClassVar[bool] = False
    requests: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        cls = type(self)
        cls.requests.append(q)
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", PAGE))
        body = cls.rows[offset : offset + limit]
        headers = {}
        if cls.link and offset + limit < len(cls.rows):  # SendGrid's style: next = offset+limit
            url = f"http://{self.headers['Host']}/v3/rows?limit={limit}&offset={offset + limit}"
            headers["Link"] = f'<{url}>; rel="next"; title="{offset // limit + 2}"'
        for change in (cls.changes.get(len(cls.requests)), cls.changes.get(0)):
            if change is not None:
                change(cls.rows)
        self.send(200, json.dumps({"result": body}).encode(), headers)


@pytest.fixture
def served(set_conn: Any) -> Iterator[SendGridHook]:
    Rows.requests, Rows.changes, Rows.link = [], {}, False
    with serving_hook(Rows, set_conn, "sg_overlap", max_pages=60) as hook:
        yield hook


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"username": f"u{i:02d}", "role": "teammate"} for i in range(n)]


def _read(hook: SendGridHook, pagination: str = "offset", page: int = PAGE) -> list[str]:
    records = hook.iter_records("/v3/rows", pagination=pagination, records_path="result",
                                page_size=page)  # fmt: skip
    return [r["username"] for r in records]


def _delete(*names: str) -> Change:
    def change(rows: list[dict[str, Any]]) -> None:
        rows[:] = [r for r in rows if r["username"] not in names]

    return change


def _insert(at: int, name: str) -> Change:
    return lambda rows: rows.insert(at, {"username": name, "role": "teammate"})


def _offsets() -> list[int]:
    return [int(q.get("offset", 0)) for q in Rows.requests]


EVERY = [f"u{i:02d}" for i in range(12)]


@pytest.mark.parametrize(
    ("after", "deleted"),
    [
        (1, ("u01",)),  # one row before the boundary
        (1, ("u00", "u02")),  # two rows
        (1, ("u03",)),  # the boundary row itself (the one the next page repeats)
        (2, ("u04",)),  # on the second page
        (1, ("u01", "u02", "u03", "u04", "u05")),  # more than a page's overlap
    ],
    ids=["one", "two", "boundary-row", "second-page", "five"],
)
def test_a_row_deleted_before_the_boundary_is_not_lost(
    served: SendGridHook, after: int, deleted: tuple[str, ...]
) -> None:
    """Every row present for the whole read is read, once; no row is read twice."""
    Rows.rows, Rows.changes = _rows(12), {after: _delete(*deleted)}
    names = _read(served)
    assert len(names) == len(set(names))
    assert set(names) >= set(EVERY) - set(deleted)


def test_plain_limit_offset_paging_costs_one_row_a_page(served: SendGridHook) -> None:
    """Nothing changes: the same records in the same order; each next page starts one row
    earlier (``offset + size - 1``), and the last one ends the list."""
    Rows.rows = _rows(12)
    assert _read(served) == EVERY
    assert _offsets() == [0, 3, 6, 9]


def test_a_list_of_one_page_is_one_request(served: SendGridHook) -> None:
    for n in (0, 1, PAGE - 1):
        Rows.rows, Rows.requests = _rows(n), []
        assert _read(served) == EVERY[:n]
        assert len(Rows.requests) == 1


def test_a_list_shrinking_below_the_overlap_offset_is_read_to_its_end(
    served: SendGridHook,
) -> None:
    """Two rows of page 1 go: the next page (offset 3) is empty, yet u04 is still unread."""
    Rows.rows, Rows.changes = _rows(5), {1: _delete("u00", "u01")}
    names = _read(served)
    assert sorted(names) == EVERY[:5]


@pytest.mark.parametrize(
    ("at", "kept"),
    [(1, False), (3, True)],
    ids=["inserted-early", "inserted-before-the-boundary-row"],
)
def test_a_row_inserted_before_the_boundary_repeats_none(
    served: SendGridHook, at: int, kept: bool
) -> None:
    """Rows moved down a place: the repeated ones are dropped, none is lost, and an inserted
    row that the next page holds is kept (it was never read)."""
    Rows.rows, Rows.changes = _rows(12), {1: _insert(at, "new")}
    names = _read(served)
    assert len(names) == len(set(names))
    assert set(names) >= set(EVERY)
    assert ("new" in names) is kept


def test_link_next_pages_overlap_too(served: SendGridHook) -> None:
    """``Link rel="next"`` says there is a next page; it starts a row earlier than the link."""
    Rows.rows, Rows.link = _rows(12), True
    Rows.changes = {1: _delete("u01")}
    names = _read(served)
    assert len(names) == len(set(names))
    assert set(names) == set(EVERY)
    assert _offsets()[:2] == [0, 3]


def test_page_size_one_pages_by_plain_offsets(served: SendGridHook) -> None:
    """A one-row page cannot overlap: each row once, one request a row and the empty end."""
    Rows.rows = _rows(5)
    assert _read(served, page=1) == EVERY[:5]
    assert _offsets() == [0, 1, 2, 3, 4, 5]


def test_identical_records_are_compared_whole(served: SendGridHook) -> None:
    """Equal records around the boundary: unchanged, the list comes back as it is; with one
    of them deleted mid-read, no other record is lost."""
    twin = {"username": "twin", "role": "teammate"}
    rest = _rows(8)[3:]
    Rows.rows = [dict(twin), dict(twin), dict(twin), *rest]
    assert _read(served) == ["twin"] * 3 + [r["username"] for r in rest]

    Rows.rows, Rows.requests = [dict(twin), dict(twin), dict(twin), *rest], []
    Rows.changes = {1: lambda rows: rows.pop(0)}
    names = _read(served)
    assert set(names) == {"twin"} | {r["username"] for r in rest}
    assert [n for n in names if n != "twin"] == [r["username"] for r in rest]


@pytest.mark.parametrize("shift", ["delete-first-row", "insert-first-row", "rotate"])
def test_a_list_that_shifts_on_every_request_still_ends(served: SendGridHook, shift: str) -> None:
    """Whatever shifts after every request, the read ends: complete, each row once and every
    row that stayed in place read (a row moving from the end to the front is behind the
    reader: rotated rows may be missed), or refused by a loop guard. Never endless."""
    gone: set[str] = set()

    def change(rows: list[dict[str, Any]]) -> None:
        if shift == "delete-first-row" and rows:
            gone.add(rows.pop(0)["username"])
        elif shift == "insert-first-row":
            rows.insert(0, {"username": f"n{len(rows)}", "role": "new"})
        elif shift == "rotate":
            rows.insert(0, rows.pop())

    Rows.rows, Rows.changes = _rows(40), {0: change}
    try:
        names = _read(served)
    except SendGridPaginationError:
        assert len(Rows.requests) <= 60
        return
    assert len(Rows.requests) <= 60
    assert len(names) == len(set(names))
    if shift != "rotate":
        assert set(names) >= {f"u{i:02d}" for i in range(40)} - gone


def test_a_list_rewritten_on_every_request_is_refused(served: SendGridHook) -> None:
    """Every row changes after every request: no page continues the rows read, so the read
    stops within a few requests instead of returning rows it cannot vouch for."""

    def rewrite(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            row["role"] = f"{row['role']}+"

    Rows.rows, Rows.changes = _rows(40), {0: rewrite}
    with pytest.raises(SendGridPaginationError, match="changed too much"):
        _read(served)
    assert len(Rows.requests) <= 8


def _volatile(index: int) -> Change:
    """The row at ``index`` changes on every request (a day whose counts still grow)."""

    def change(rows: list[dict[str, Any]]) -> None:
        rows[index] = {**rows[index], "role": f"{rows[index]['role']}+"}

    return change


def test_a_row_changing_on_every_request_ends_the_read_in_a_few_requests(
    served: SendGridHook,
) -> None:
    """The page boundary's row differs each time it is read: no page ever repeats it, so the
    overlap cannot line up. The read gives up after a handful of requests (it used to go on
    to ``max_pages``: 10,000 in production)."""
    Rows.rows, Rows.changes = _rows(10), {0: _volatile(PAGE - 1)}
    with pytest.raises(SendGridPaginationError, match="changed too much"):
        _read(served)
    assert len(Rows.requests) <= 2 * (OffsetPaginator.max_misses + 2)


def test_stats_lists_page_by_plain_offsets_and_read_a_changing_day(served: SendGridHook) -> None:
    """Lists ordered by date that rows never leave (stats) use ``plain_offset``: today's row
    may change between two requests without stopping the read."""
    Rows.rows, Rows.changes = _rows(10), {0: _volatile(PAGE - 1)}
    assert _read(served, "plain_offset") == [f"u{i:02d}" for i in range(10)]
    assert [q["offset"] for q in Rows.requests] == ["0", "4", "8"]
