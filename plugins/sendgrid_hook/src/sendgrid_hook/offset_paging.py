"""The ``limit``/``offset`` paginators: ``offset`` (overlapping pages) and ``created_window``.

With plain offsets, a row deleted before the current offset between two requests (a customer
removing a teammate or a bounce while the extractor reads) moves every later row up one place:
the row at the next page boundary is never read. A snapshot then marks that key deleted for a
run; a subuser missing from ``/v3/subusers`` has its streams skipped. Two answers:

* ``offset`` (:class:`OffsetPaginator`, any offset-only list) overlaps each page with the
  previous one by a row and checks it: a shift is seen and its rows are read again.
* ``created_window`` (:class:`CreatedWindowPaginator`, the suppression lists) narrows a window
  of ``created`` seconds instead: rows outside the window cannot shift it.

Both go on while the list has rows as :class:`LimitOffsetPaginator` decides: a ``Link``
``rel="next"`` when the response has one, else a full page. Importing this module registers
both in :data:`sendgrid_hook.pagination.PAGINATORS` (they build on that module's types).
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.utils import parse_header_links

from sendgrid_hook.errors import SendGridPaginationError
from sendgrid_hook.pagination import PAGINATORS, Page, PageRequest, Paginator

log = logging.getLogger(__name__)
_NONE = object()  # no row: the next page is not checked


class LimitOffsetPaginator(Paginator):
    """``limit``/``offset``; ``Link rel=next`` wins, else a short page ends the list.

    Plain offsets, the base of both paginators below (and what they fall back to).
    """

    default_page_size = 500
    moves = frozenset({"offset"})

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        """First page at offset 0 (or the caller's offset)."""
        return PageRequest(path, {"limit": self.page_size, "offset": 0, **params})

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        """Follow ``Link`` when the response has one; otherwise add ``limit`` to the offset.

        A ``next`` link that does not move past the current offset (a last page pointing at
        itself) is not followed: the page's own size decides, as without a link. A server that
        really loops then repeats its page, which :func:`iter_pages` refuses. A link past the
        rows the page held (a server capping pages below ``limit``) would skip rows: the next
        page starts right after them instead.
        """
        current = _offset_of(request)
        link = page.response.headers.get("Link")
        if link:
            nxt = next((x["url"] for x in parse_header_links(link) if x.get("rel") == "next"), None)
            if nxt is None or not page.size:
                return None
            following = PageRequest(nxt, {})
            if _offset_of(following) > current + page.size:
                log.warning("%s: Link next offset %s is past the %d rows served; reading on "
                            "from offset %d", request.url, _offset_of(following),
                            page.size, current + page.size)  # fmt: skip
                return _at_offset(request, current + page.size)
            if _offset_of(following) > current:
                return following
            log.debug("%s: Link next offset %s does not move past %s; counting the page",
                      request.url, _offset_of(following), current)  # fmt: skip
        limit = int(_param(request, "limit") or self.page_size or 0)
        if not page.size or page.size < limit:
            return None
        return _at_offset(request, current + page.size)


class OffsetPaginator(LimitOffsetPaginator):
    """``limit``/``offset`` over overlapping pages: a row deleted or added mid-read loses none.

    Each next page starts one row before plain offsets would (``offset + size - 1``), so its
    first row should repeat the last row read (the *frontier*); ``Link`` and a short page
    decide only whether there is a next page. Then:

    * the page starts with the frontier: nothing moved; the repeated row is dropped.
    * the frontier is further in the page: rows were inserted before it. The rows the last two
      pages held are dropped, the others (new) kept.
    * the page lacks it: rows before it were deleted (or the frontier itself). Nothing of the
      page is kept; the paginator steps back ``size - 1`` rows at a time until a page holds
      the frontier, or another row of the last two pages, and keeps the rows they did not
      hold. The page after a realignment on another row is checked the same way.

    Rows are compared whole (two equal records are one for a keyed snapshot). The list
    changing too much (nothing to realign on at offset 0, or ``max_misses`` pages in a row
    adding no row) raises :class:`SendGridPaginationError`: a snapshot then stays as it was.
    Pages read again are marked :attr:`PageRequest.revisit` for the loop guard of
    :func:`iter_pages`; ``max_pages`` still bounds them. Pages of one row (``page_size`` 1) and
    a wrapper's list (``page_items``) cannot overlap: they page by plain offsets.

    Cost: a list of one page is one request; each further page reads one row again. Memory:
    the last two pages read.
    """

    max_misses = 4

    def __init__(self, page_size: int | None = None) -> None:
        super().__init__(page_size)
        self._frontier: Any = _NONE  # the row the next page should start with
        self._tail: Any = _NONE  # the last row of the page just fetched
        self._held = 0  # how many rows it held (a wrapper page counts its list instead)
        self._read: deque[list[Any]] = deque(maxlen=2)  # the last two pages that continued
        self._lost = False  # the page just fetched continues nothing read before
        self._wary = False  # check the next page against _read even if it starts right
        self._misses = 0  # pages in a row that added no row
        self._highest = -1  # the highest offset fetched: at or below it is a revisit

    def fresh(self, records: list[Any]) -> list[Any]:
        """The rows of ``records`` this read has not returned yet (see the class)."""
        self._held, self._tail = len(records), records[-1] if records else _NONE
        frontier, wary = self._frontier, self._wary
        self._lost = self._wary = False
        if frontier is _NONE:
            kept = records
        elif records and not wary and records[0] == frontier:
            kept = records[1:]  # the usual case: one comparison
        else:
            realigned = self._realign(records, frontier)
            if realigned is None:
                self._lost, self._wary = True, wary  # the page before is checked as this was
                return []
            kept = realigned
        self._read.append(records)
        return kept

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        """The overlapping next page, the page before after a shift, or ``None``: done."""
        current = _offset_of(request)
        self._highest = max(self._highest, current)
        if self._lost:
            return self._step_back(request, current)
        following = super().next(request, page)
        if following is None:
            return None
        if not page.records:
            self._missed(request, current)
        elif not request.revisit:  # new rows past every offset read: the read moves on
            self._misses = 0
        limit = int(_param(request, "limit") or self.page_size or 0)
        if limit < 2 or page.size < 2 or page.size != self._held:
            self._frontier = _NONE  # one-row pages cannot overlap; a wrapper's list is no rows
            return self._revisiting(following)
        self._frontier = self._tail
        return self._revisiting(_at_offset(following, current + page.size - 1))

    def after_empty(self, request: PageRequest, page: Page) -> PageRequest | None:
        """An empty page where the frontier should be: the list shrank, look before it.

        At offset 0 the list is empty: nothing is left to read.
        """
        current = _offset_of(request)
        if not self._lost or current == 0:
            return None
        self._highest = max(self._highest, current)
        return self._step_back(request, current)

    def _realign(self, records: list[Any], frontier: Any) -> list[Any] | None:
        """The rows of ``records`` the last two pages did not hold, if it continues them.

        ``None`` when ``records`` holds neither ``frontier`` nor another row of those pages.
        """
        held = {_identity(r) for rows in self._read for r in rows}
        keys = [_identity(r) for r in records]
        if _identity(frontier) not in keys:
            if held.isdisjoint(keys):
                return None
            self._wary = True  # the frontier is gone (or past this page): check the next too
        return [r for r, key in zip(records, keys, strict=True) if key not in held]

    def _step_back(self, request: PageRequest, current: int) -> PageRequest:
        """The page ending where ``request``'s began: the rows before it moved up."""
        self._missed(request, current)
        if current <= 0:
            raise SendGridPaginationError(
                f"{request.url}: the list changed too much while it was read: no page from "
                "offset 0 on holds a row of the last pages read"
            )
        span = max(1, len(self._read[-1]) - 1) if self._read else 1
        log.info("%s: the rows before offset %d moved; reading from offset %d again",
                 request.url, current, max(0, current - span))  # fmt: skip
        return self._revisiting(_at_offset(request, max(0, current - span)))

    def _missed(self, request: PageRequest, current: int) -> int:
        self._misses += 1
        if self._misses > self.max_misses:
            raise SendGridPaginationError(
                f"{request.url}: the list changed too much while it was read: "
                f"{self._misses} pages in a row up to offset {current} added no row"
            )
        return self._misses

    def _revisiting(self, request: PageRequest) -> PageRequest:
        """``request``, marked as a revisit when it asks for an offset already passed."""
        return replace(request, revisit=_offset_of(request) <= self._highest)


class CreatedWindowPaginator(LimitOffsetPaginator):
    """``limit``/``offset`` over a window of ``created`` seconds, narrowed page by page.

    With plain offsets, a row deleted before the current offset between two requests (a
    customer removing a bounce) moves the rows after it up one place: the row at the page
    boundary is never read, and the cursor moves past it for good. Here each full page ends
    the window at the page's last ``created`` second instead: the next request starts (or,
    for a newest-first list, ends) at that second, inclusive, at offset 0. Rows outside the
    window cannot shift it; the rows of that second are read again and dropped here
    (:meth:`fresh`). A page within one second, a short page that ``Link`` continues, or a page
    whose ``created`` values are not sorted moves on by plain offsets (a shift is then
    possible only within that second, or as before).

    The same requests continue while the list has rows: the ``Link`` header or a short page
    decides, as for ``offset``; a ``Link`` URL itself is not followed.
    """

    def __init__(
        self, page_size: int | None = None, *, field: str = "created",
        start: str = "start_time", end: str = "end_time",
    ) -> None:  # fmt: skip
        super().__init__(page_size)
        self.field, self.start, self.end = field, start, end
        self._edge: list[Any] = []  # the last page's rows of the second the next one repeats
        self._edge_second: Any = None
        self._order: str | None = None  # "rising" (oldest first) or "falling", once seen

    def fresh(self, records: list[Any]) -> list[Any]:
        """``records`` less the rows of the repeated second that the previous page held."""
        edge, second, field = self._edge, self._edge_second, self.field
        self._edge, self._edge_second = [], None
        if not edge:
            return records
        # a record that is no object is no row of the edge: kept, for the shaper to reject
        return [
            r for r in records
            if not isinstance(r, dict) or r.get(field) != second or r not in edge
        ]  # fmt: skip

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        """Narrow the window past ``page`` (see the class); offsets only where it cannot.

        The list's order is learnt from the first page whose ``created`` values differ and
        held from then on: a page of one second says nothing about it.
        """
        if super().next(request, page) is None:
            return None
        by_offset = _at_offset(request, _offset_of(request) + page.size)
        limit = int(_param(request, "limit") or self.page_size or 0)
        values = [r.get(self.field) if isinstance(r, dict) else None for r in page.records]
        if page.size < limit or not values or not all(type(v) is int for v in values):
            return by_offset  # a short page that Link continues, or no usable created
        first, last = values[0], values[-1]
        if first != last:
            order = "rising" if first < last else "falling"
            pairs = pairwise(values)
            if self._order not in (None, order) or not all(
                (a <= b) if order == "rising" else (a >= b) for a, b in pairs
            ):
                return by_offset  # not sorted by created: the window cannot be narrowed
            self._order = order
        if self._order is None or (first == last and len(values) == page.size):
            return by_offset  # one second only, nothing of it read before: move by offset
        bound = self.start if self._order == "rising" else self.end
        held = _param(request, bound)
        if held is not None and (int(held) >= last if bound == self.start else int(held) <= last):
            return by_offset  # the window already starts (ends) at that second
        self._edge = [r for r in page.records if isinstance(r, dict) and r.get(self.field) == last]
        self._edge_second = last
        narrowed = _at_offset(request, 0)
        return PageRequest(narrowed.url, {**narrowed.params, bound: last})


def _identity(record: Any) -> str:
    """A record as text that equal records share (keys sorted), to compare pages' rows.

    The transport's markers (``NaN``, unparsed values) count by their text; a record nested
    too deeply to encode is a row of its own.
    """
    try:
        return json.dumps(record, sort_keys=True, separators=(",", ":"), default=_marker)
    except (RecursionError, TypeError, ValueError):
        return f"\x00{id(record)}"


def _marker(value: Any) -> list[str]:
    return [type(value).__name__, str(getattr(value, "text", repr(value)))]


def _param(request: PageRequest, name: str) -> Any:
    """A parameter of ``request``, from its params or its URL's query (``None``: absent)."""
    value = request.params.get(name)
    if value is None:
        value = dict(parse_qsl(urlsplit(request.url).query)).get(name)
    return value


def _at_offset(request: PageRequest, offset: int) -> PageRequest:
    """``request`` moved to ``offset`` (a followed link's query becomes parameters)."""
    parts = urlsplit(request.url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    url = parts._replace(query="").geturl() if query else request.url
    return replace(request, url=url, params={**query, **request.params, "offset": offset})


def _offset_of(request: PageRequest) -> int:
    try:
        return int(_param(request, "offset") or 0)
    except (TypeError, ValueError):
        return 0


PAGINATORS.update(
    offset=OffsetPaginator, plain_offset=LimitOffsetPaginator, created_window=CreatedWindowPaginator
)
