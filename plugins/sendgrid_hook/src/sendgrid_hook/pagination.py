"""Paginators, one per pagination style of the SendGrid v3 API, chosen by name.

Each paginator answers two questions: what is the first request, and - given a page - what
is the next request (``None`` = done). :func:`iter_pages` drives them and guarantees
termination for every style: an **empty page ends the list** whatever the server says comes
next (a ``next`` link that keeps coming with empty pages once cost 10,000 requests), while a
request that repeats (same URL and parameters, in any order: a repeated cursor), a page whose
records repeat the previous page, or more than ``max_pages`` pages raise
:class:`SendGridPaginationError`.

========================  ==================================================================
name                      style (``docs/api-notes.md`` §2)
========================  ==================================================================
``none``                  one response holds everything
``offset``                ``limit``/``offset``; follows ``Link rel="next"`` when present,
                          else stops on a short page
``created_window``        ``limit``/``offset`` over a ``start_time``/``end_time`` window of
                          ``created`` (suppression lists): each next page narrows the window
                          past the rows read, so a row deleted meanwhile shifts nothing
``metadata_next``         ``page_size``; follows the full URL in ``_metadata.next``
``keyset``                ``limit`` + ``after_key`` from ``_metadata.next_params``
``after_subuser_id``      ``limit`` + ``after_subuser_id`` from ``_metadata.next_params``
========================  ==================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.utils import parse_header_links

from sendgrid_hook.errors import SendGridPaginationError
from sendgrid_hook.page_records import extract_records
from sendgrid_hook.transport import ApiResponse, Transport

log = logging.getLogger(__name__)
DEFAULT_MAX_PAGES = 10_000


@dataclass(frozen=True)
class PageRequest:
    """One request of a pagination: a path (or same-host URL) and its query parameters."""

    url: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def identity(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Hashable identity for the loop guard: path and sorted parameters (URL query included).

        ``/x?b=2&a=1`` and ``/x`` with ``{"a": 1, "b": 2}`` are the same request.
        """
        parts = urlsplit(self.url)
        items = parse_qsl(parts.query, keep_blank_values=True)
        items += [(str(k), str(v)) for k, v in self.params.items()]
        return parts.path, tuple(sorted((str(k), str(v)) for k, v in items))


@dataclass(frozen=True)
class Page:
    """One fetched page.

    ``size`` is what the paginator counts: the number of records the response held (those an
    earlier page returned included; ``records`` holds only the others), or - for a body that
    is one wrapper record (``records_path="."``) - the length of its ``items`` list.
    """

    number: int
    request: PageRequest
    response: ApiResponse
    records: list[dict[str, Any]]
    size: int


@dataclass
class PageProgress:
    """Running totals of one pagination, for task logs."""

    path: str
    pages: int = 0
    records: int = 0


class Paginator:
    """Base class: a single request, no next page (style ``none``).

    ``moves`` names the parameters a next page changes; every other parameter of the first
    request is carried to each next page whose URL drops it (:func:`iter_pages`).
    """

    default_page_size: int | None = None
    moves: frozenset[str] = frozenset()

    def __init__(self, page_size: int | None = None) -> None:
        self.page_size = page_size or self.default_page_size

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        """The first request."""
        return PageRequest(path, dict(params))

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        """The request after ``page`` or ``None`` when done."""
        return None

    def fresh(self, records: list[Any]) -> list[Any]:
        """The records of a page that no earlier page of this pagination returned."""
        return records


class OffsetPaginator(Paginator):
    """``limit``/``offset``; ``Link rel=next`` wins, else a short page ends the list."""

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


class CreatedWindowPaginator(OffsetPaginator):
    """``limit``/``offset`` over a window of ``created`` seconds, narrowed page by page.

    With plain offsets, a row deleted before the current offset between two requests (a
    customer removing a bounce) moves the rows after it up one place: the row at the page
    boundary is never read, and the cursor moves past it for good. Here each full page ends
    the window at the page's last ``created`` second instead: the next request starts (or,
    for a newest-first list, ends) at that second, inclusive, at offset 0. Rows outside the
    window cannot shift it; the rows of that second are read again and dropped here
    (:meth:`fresh`). A page within one second, a short page that ``Link`` continues, or a page
    whose ``created`` values are not sorted moves on by offset as :class:`OffsetPaginator`
    does (a shift is then possible only within that second, or as before).

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
        return [r for r in records if r.get(field) != second or r not in edge]

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
        self._edge = [r for r in page.records if r.get(self.field) == last]
        self._edge_second = last
        narrowed = _at_offset(request, 0)
        return PageRequest(narrowed.url, {**narrowed.params, bound: last})


class MetadataNextPaginator(Paginator):
    """``page_size`` first, then the full URL in ``_metadata.next`` until it is absent."""

    default_page_size = 100
    moves = frozenset({"page_token"})

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        """First page with ``page_size``."""
        return PageRequest(path, {"page_size": self.page_size, **params})

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        """Follow ``_metadata.next`` (the transport refuses URLs on another host)."""
        metadata = _metadata(page)
        nxt = metadata.get("next")
        return PageRequest(str(nxt), {}) if nxt else None


class KeysetPaginator(Paginator):
    """``limit`` + a cursor parameter copied from ``_metadata.next_params``; null = done.

    The spec of ``/v3/send_ips/ips`` puts ``after_key`` in ``_metadata.next_params`` (schema)
    and straight in ``_metadata`` (example): either is read, ``next_params`` first.
    """

    default_page_size = 100

    def __init__(self, page_size: int | None = None, *, cursor: str = "after_key") -> None:
        super().__init__(page_size)
        self.cursor = cursor
        self.moves = frozenset({cursor, "before_key"})

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        """First page with ``limit``."""
        return PageRequest(path, {"limit": self.page_size, **params})

    def next(self, request: PageRequest, page: Page) -> PageRequest | None:
        """Next page with the cursor value from the response."""
        metadata = _metadata(page)
        value = (metadata.get("next_params") or {}).get(self.cursor)
        if value in (None, ""):
            value = metadata.get(self.cursor)
        if value in (None, "") or not page.records:
            return None
        if str(request.params.get(self.cursor)) == str(value):
            raise SendGridPaginationError(
                f"pagination loop on {request.url}: {self.cursor} {value!r} repeated"
            )
        return PageRequest(request.url, {**request.params, self.cursor: value})


PAGINATORS: dict[str, Callable[..., Paginator]] = {
    "none": Paginator,
    "offset": OffsetPaginator,
    "created_window": CreatedWindowPaginator,
    "metadata_next": MetadataNextPaginator,
    "keyset": partial(KeysetPaginator, cursor="after_key"),
    "after_subuser_id": partial(KeysetPaginator, cursor="after_subuser_id"),
}


def create_paginator(name: str, page_size: int | None = None) -> Paginator:
    """Instantiate the paginator registered as ``name``.

    Raises:
        ValueError: Unknown name.
    """
    try:
        factory = PAGINATORS[name]
    except KeyError:
        raise ValueError(f"unknown pagination {name!r}; known: {sorted(PAGINATORS)}") from None
    return factory(page_size)


def iter_pages(
    transport: Transport,
    path: str,
    paginator: Paginator,
    records_path: str | None,
    *,
    params: Mapping[str, Any] | None = None,
    on_behalf_of: str | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    progress: PageProgress | None = None,
    on_page: Callable[[PageProgress], None] | None = None,
    page_items: str | None = None,
) -> Iterator[Page]:
    """Fetch pages one at a time until the paginator says done.

    An empty page is the last one, whatever link or cursor it carries. With ``page_items``, a
    page is one wrapper record (``records_path="."``) and the paginator counts the entries of
    its ``page_items`` list (``/v3/subusers/stats/monthly``: ``{"date", "stats": [...]}``).

    Raises:
        SendGridPaginationError: Repeated request, repeated page, or ``max_pages`` exceeded.
    """
    progress = progress or PageProgress(path)
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    previous: list[Any] | None = None  # the last page's records, for the repeat guard
    first = paginator.first(path, dict(params or {}))
    request: PageRequest | None = first
    while request is not None:
        if request.identity() in seen:
            raise SendGridPaginationError(f"pagination loop on {path}: a request repeated")
        if progress.pages >= max_pages:
            raise SendGridPaginationError(f"pagination of {path} exceeded {max_pages} pages")
        seen.add(request.identity())
        response = transport.get(
            request.url, request.params or None, on_behalf_of=on_behalf_of, bucket=None
        )
        raw = extract_records(response.body, records_path)
        # Equal lists compare fully only when they are equal (a loop); a new page differs at
        # its first record, so the guard costs next to nothing and serializes nothing.
        if raw and raw == previous:
            raise SendGridPaginationError(f"pagination loop on {path}: the same page came back")
        previous = raw
        records = paginator.fresh(raw)
        progress.pages += 1
        progress.records += len(records)
        page = Page(progress.pages, request, response, records, _size(raw, page_items))
        if on_page is not None:
            on_page(progress)
        yield page
        request = paginator.next(request, page) if page.size else None
        if request is not None:
            request = _carried(request, first, paginator.moves)


def _carried(request: PageRequest, first: PageRequest, moves: frozenset[str]) -> PageRequest:
    """``request`` with the first request's parameters that its URL dropped.

    A ``Link`` or ``_metadata.next`` URL need not repeat the filters (``generations``,
    ``start_time``, ``date``) nor the page size; without them a next page reads another list,
    or a default-sized page that looks like the last one.
    """
    present = {k for k, _ in parse_qsl(urlsplit(request.url).query, keep_blank_values=True)}
    present |= set(request.params)
    missing = {k: v for k, v in first.params.items() if k not in present and k not in moves}
    return PageRequest(request.url, {**request.params, **missing}) if missing else request


def _size(records: list[Any], page_items: str | None) -> int:
    """How many entries ``records`` count for paging (see :func:`iter_pages`)."""
    if page_items is None:
        return len(records)
    items = [r.get(page_items) for r in records if isinstance(r, dict)]
    return sum(len(x) for x in items if isinstance(x, list))


def _metadata(page: Page) -> Mapping[str, Any]:
    body = page.response.body
    metadata = body.get("_metadata") if isinstance(body, dict) else None
    return metadata if isinstance(metadata, dict) else {}


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
    return PageRequest(url, {**query, **request.params, "offset": offset})


def _offset_of(request: PageRequest) -> int:
    try:
        return int(_param(request, "offset") or 0)
    except (TypeError, ValueError):
        return 0
