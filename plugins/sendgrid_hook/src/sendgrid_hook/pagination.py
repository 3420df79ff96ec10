"""Paginators, one per pagination style of the SendGrid v3 API, chosen by name.

Each paginator answers two questions: what is the first request, and - given a page - what
is the next request (``None`` = done). :func:`iter_pages` drives them and guarantees
termination for every style: an **empty page ends the list** whatever the server says comes
next (a ``next`` link that keeps coming with empty pages once cost 10,000 requests; only the
paginator's own bounded look back, :meth:`Paginator.after_empty`, may go on), while a request
that repeats (same URL and parameters, in any order: a repeated cursor) unless the paginator
marks it a bounded revisit, a page whose records repeat the previous page, or more than
``max_pages`` pages raise :class:`SendGridPaginationError`.

========================  ==================================================================
name                      style (``docs/api-notes.md`` §2)
========================  ==================================================================
``none``                  one response holds everything
``offset``                ``limit``/``offset``; follows ``Link rel="next"`` when present,
                          else stops on a short page. Pages overlap by one row: each next
                          page starts at ``offset + size - 1`` and must repeat the last row
                          read; when rows before it were deleted or inserted meanwhile, it
                          realigns on that row (looking back a page at a time, bounded) and
                          drops the rows already read, so a shift loses and repeats none
                          (``sendgrid_hook.offset_paging``)
``plain_offset``          ``limit``/``offset`` without overlap, for lists ordered by date that
                          rows never leave (stats): a recent day's counts may change between
                          two requests, which the overlap would take for a shift
``created_window``        ``limit``/``offset`` over a ``start_time``/``end_time`` window of
                          ``created`` (suppression lists): each next page narrows the window
                          past the rows read, so a row deleted meanwhile shifts nothing
``metadata_next``         ``page_size``; follows the full URL in ``_metadata.next``
``keyset``                ``limit`` + ``after_key`` from ``_metadata.next_params``
``after_subuser_id``      ``limit`` + ``after_subuser_id`` from ``_metadata.next_params``
========================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sendgrid_hook.display import shorten
from sendgrid_hook.errors import SendGridError, SendGridPaginationError
from sendgrid_hook.page_records import extract_records
from sendgrid_hook.redaction import scrub
from sendgrid_hook.transport import ApiResponse, Transport

DEFAULT_MAX_PAGES = 10_000


@dataclass(frozen=True)
class PageRequest:
    """One request of a pagination: a path (or same-host URL) and its query parameters.

    ``revisit`` marks a page asked for again on purpose (offset paging reading back after the
    list shifted): the repeated-request guard lets it through; the paginator bounds revisits.
    """

    url: str
    params: Mapping[str, Any] = field(default_factory=dict)
    revisit: bool = False

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

    def after_empty(self, request: PageRequest, page: Page) -> PageRequest | None:
        """The request after an empty ``page``: ``None``, an empty page ends the list.

        Only a paginator that knows the list shrank under it (``offset``: the row it expected
        is gone) looks back, a bounded number of times.
        """
        return None


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
        """Next page with the cursor value from the response.

        Raises:
            SendGridPaginationError: ``_metadata.next_params`` is there but not an object, or
                the cursor repeats.
        """
        metadata = _metadata(page)
        next_params = metadata.get("next_params")
        if next_params is not None and not isinstance(next_params, dict):
            raise SendGridPaginationError(
                f"{request.url}: _metadata.next_params is not an object "
                f"({type(next_params).__name__}): the next page cannot be asked for"
            )
        value = (next_params or {}).get(self.cursor)
        if value in (None, ""):
            value = metadata.get(self.cursor)
        if value in (None, "") or not page.records:
            return None
        if str(request.params.get(self.cursor)) == str(value):
            raise SendGridPaginationError(
                f"pagination loop on {request.url}: {self.cursor} {value!r} repeated"
            )
        return PageRequest(request.url, {**request.params, self.cursor: value})


#: Paginator factories by name; ``offset`` and ``created_window`` are registered by
#: :mod:`sendgrid_hook.offset_paging`, imported at the end of this module.
PAGINATORS: dict[str, Callable[..., Paginator]] = {
    "none": Paginator,
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
    route: str | None = None,
) -> Iterator[Page]:
    """Fetch pages one at a time until the paginator says done.

    ``route`` is the endpoint's path template when ``path`` holds an id: the rate-limit bucket
    of every page (default: each request's URL path).

    An empty page is the last one, whatever link or cursor it carries, unless the paginator
    knows the list shrank under it (:meth:`Paginator.after_empty`). With ``page_items``, a
    page is one wrapper record (``records_path="."``) and the paginator counts the entries of
    its ``page_items`` list (``/v3/subusers/stats/monthly``: ``{"date", "stats": [...]}``).

    Raises:
        SendGridPaginationError: Repeated request (not a revisit), repeated page,
            ``max_pages`` exceeded, or a paginator that failed on a page it could not read
            (any error of its own bookkeeping, named with the page: never a bare traceback).
    """
    progress = progress or PageProgress(path)
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    previous: list[Any] | None = None  # the last page's records, for the repeat guard
    first = paginator.first(path, dict(params or {}))
    request: PageRequest | None = first
    while request is not None:
        if request.identity() in seen and not request.revisit:
            raise SendGridPaginationError(f"pagination loop on {path}: a request repeated")
        if progress.pages >= max_pages:
            raise SendGridPaginationError(f"pagination of {path} exceeded {max_pages} pages")
        seen.add(request.identity())
        response = transport.get(
            request.url, request.params or None, on_behalf_of=on_behalf_of, route=route
        )
        raw = extract_records(response.body, records_path)
        # Equal lists compare fully only when they are equal (a loop); a new page differs at
        # its first record, so the guard costs next to nothing and serializes nothing.
        if raw and raw == previous:
            raise SendGridPaginationError(f"pagination loop on {path}: the same page came back")
        previous = raw
        records = _bookkeeping(paginator, path, progress.pages + 1, paginator.fresh, raw)
        progress.pages += 1
        progress.records += len(records)
        page = Page(progress.pages, request, response, records, _size(raw, page_items))
        if on_page is not None:
            on_page(progress)
        yield page
        step = paginator.next if page.size else paginator.after_empty
        request = _bookkeeping(paginator, path, page.number, step, request, page)
        if request is not None:
            request = _carried(request, first, paginator.moves)


def _bookkeeping(
    paginator: Paginator, path: str, number: int, step: Callable[..., Any], *args: Any
) -> Any:
    """``step(*args)``, one of ``paginator``'s methods; an unexpected error as a clear one.

    A paginator reads what the server sent (records, headers, ``_metadata``); a shape it did
    not expect must fail the read with a :class:`SendGridPaginationError` naming the page,
    like every other malformed response, not with a Python error's text.
    """
    try:
        return step(*args)
    except SendGridError:
        raise
    except Exception as exc:
        raise SendGridPaginationError(
            f"{path}: page {number} has a shape the paginator cannot follow "
            f"({type(paginator).__name__}.{step.__name__}: {type(exc).__name__}: "
            f"{shorten(scrub(str(exc)), 200)})"
        ) from exc


def _carried(request: PageRequest, first: PageRequest, moves: frozenset[str]) -> PageRequest:
    """``request`` with the first request's parameters that its URL dropped.

    A ``Link`` or ``_metadata.next`` URL need not repeat the filters (``generations``,
    ``start_time``, ``date``) nor the page size; without them a next page reads another list,
    or a default-sized page that looks like the last one.
    """
    present = {k for k, _ in parse_qsl(urlsplit(request.url).query, keep_blank_values=True)}
    present |= set(request.params)
    missing = {k: v for k, v in first.params.items() if k not in present and k not in moves}
    return replace(request, params={**request.params, **missing}) if missing else request


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


# The limit/offset family builds on the types above, in a module of its own; importing it
# registers "offset" and "created_window" in PAGINATORS (either module may be imported first).
from sendgrid_hook import offset_paging  # noqa: E402, F401
