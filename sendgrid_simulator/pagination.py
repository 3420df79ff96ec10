"""Server-side pagination styles: ``Link`` headers, ``_metadata`` page tokens, keysets."""

from __future__ import annotations

import base64

from . import hashing
from .errors import ParamError
from .wire import Request

PAGING_PARAMS = ("limit", "offset")


def link_header(req: Request, limit: int, offset: int, total: int) -> str:
    """Build the RFC 5988 ``Link`` header of a limit/offset page (docs D3 format).

    ``prev`` on the first page points at the first page (as observed); ``next`` is omitted
    on the last page (a GUESS: not documented).
    """
    base = [(k, v) for k, v in req.query if k not in PAGING_PARAMS]
    limit = max(1, limit)
    last = max(0, (total - 1) // limit * limit)

    def link(off: int, rel: str) -> str:
        url = req.url(query=[*base, ("limit", str(limit)), ("offset", str(off))])
        return f'<{url}>; rel="{rel}"; title="{off // limit + 1}"'

    links = []
    if offset + limit < total:
        links.append(link(offset + limit, "next"))
    links.append(link(max(0, offset - limit), "prev"))
    links.append(link(last, "last"))
    links.append(link(0, "first"))
    return ", ".join(links)


def wants_paging(req: Request) -> bool:
    """True when the request carries ``limit`` or ``offset`` (the real API then sends Link)."""
    return any(k in PAGING_PARAMS for k, _ in req.query)


def encode_token(seed: int, path: str, offset: int) -> str:
    """Opaque ``page_token`` for ``offset`` (tamper-evident)."""
    raw = f"{offset}.{hashing.hexid(10, seed, path, offset)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(seed: int, path: str, token: str | None) -> int:
    """Offset behind a ``page_token`` (0 when absent).

    Raises:
        ParamError: The token was not issued by this server for this path.
    """
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset_text, check = raw.split(".", 1)
        offset = int(offset_text)
    except (ValueError, UnicodeDecodeError):
        raise ParamError("page_token", "invalid page token") from None
    if offset < 0 or check != hashing.hexid(10, seed, path, offset):
        raise ParamError("page_token", "invalid page token")
    return offset


def metadata_page(
    req: Request, seed: int, items: list, page_size: int
) -> tuple[list, dict[str, object]]:
    """Slice ``items`` for a ``page_size``/``page_token`` request.

    Returns:
        ``(page, _metadata)`` where ``_metadata`` has ``self``, ``count`` and, when they exist,
        ``prev`` and ``next`` as full URLs.
    """
    offset = decode_token(seed, req.path, req.q("page_token"))
    page = items[offset : offset + page_size]
    base = [(k, v) for k, v in req.query if k not in ("page_token", "page_size")]

    def url(off: int) -> str:
        q = [*base, ("page_size", str(page_size))]
        if off:
            q.append(("page_token", encode_token(seed, req.path, off)))
        return req.url(query=q)

    meta: dict[str, object] = {"self": url(offset)}
    if offset > 0:
        meta["prev"] = url(max(0, offset - page_size))
    if offset + page_size < len(items):
        meta["next"] = url(offset + page_size)
    meta["count"] = len(items)
    return page, meta
