"""One HTTP GET with hard bounds: same-origin redirects only, a deadline, a body-size cap.

``requests`` alone gives none of the three: it follows redirects to any host, its read timeout
applies to each socket read (a server trickling one byte a second never times out), and it reads
any body into memory whatever its size. :func:`bounded_get` therefore

* sends with ``allow_redirects=False`` and follows a redirect only when its target has the
  same origin (scheme, host, port) as the configured API; any other target raises
  :class:`~sendgrid_hook.errors.SendGridRedirectError` before a byte is sent there, so the
  bearer token, the ``on-behalf-of`` header and the query never reach another host;
* streams the body with ``read1`` (whatever has arrived, at most one socket read) and checks a
  monotonic deadline for the whole request between reads, tightening the socket timeout to
  what is left of it;
* stops reading as soon as the body (decoded) exceeds ``max_bytes``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from sendgrid_hook.errors import SendGridRedirectError, SendGridResponseTooLargeError
from sendgrid_hook.redaction import scrub_url

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_REDIRECTS = 5
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Fetched:
    """A response read completely within its bounds."""

    url: str
    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes


class DeadlineExceeded(Exception):
    """The whole request (connect, headers, body) did not finish before its deadline."""


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url`` with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port."""
    return origin(a) == origin(b)


def describe_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (no path, query or user info: safe to log)."""
    scheme, host, port = origin(url)
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def bounded_get(
    session: requests.Session,
    url: str,
    *,
    allowed_origin: str,
    params: Mapping[str, Any] | None,
    headers: Mapping[str, str],
    timeout: tuple[float, float],
    deadline: float,
    max_bytes: int,
) -> Fetched:
    """GET ``url`` and read its body, within the bounds described in the module docstring.

    Args:
        session: The pooled, authenticated session.
        url: Absolute URL (already checked to be on ``allowed_origin``).
        allowed_origin: The API base URL; redirects elsewhere are refused.
        params: Query parameters of the first request.
        headers: Extra request headers.
        timeout: ``(connect, read)`` socket timeouts in seconds.
        deadline: ``time.monotonic()`` value by which the whole request must be done.
        max_bytes: Largest accepted (decoded) body.

    Returns:
        The final response with its whole body.

    Raises:
        SendGridRedirectError: A redirect to another origin (not followed).
        SendGridResponseTooLargeError: The body is larger than ``max_bytes``.
        DeadlineExceeded: The deadline passed.
        requests.RequestException: Connection problems (the caller retries them).
        urllib3.exceptions.HTTPError: A read failed mid-body.
    """
    for _ in range(MAX_REDIRECTS + 1):
        response = session.get(
            url,
            params=params,
            headers=dict(headers),
            timeout=_tighten(timeout, deadline),
            allow_redirects=False,
            stream=True,
        )
        try:
            if not response.is_redirect:
                content = read_body(response, url, deadline, max_bytes)
                return Fetched(
                    response.url or url,
                    response.status_code,
                    response.reason or "",
                    response.headers,
                    content,
                )
            target = urljoin(response.url or url, response.headers.get("location", ""))
        finally:
            response.close()
        if not same_origin(target, allowed_origin):
            raise SendGridRedirectError(
                f"GET {scrub_url(url)}: {response.status_code} redirect to another origin "
                f"({describe_origin(target)}) refused; nothing was sent there",
                status_code=response.status_code,
            )
        url, params = target, None
    raise SendGridRedirectError(f"GET {scrub_url(url)}: more than {MAX_REDIRECTS} redirects")


def _tighten(timeout: tuple[float, float], deadline: float) -> tuple[float, float]:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded
    return min(timeout[0], left), min(timeout[1], left)


def read_body(response: requests.Response, url: str, deadline: float, max_bytes: int) -> bytes:
    """Read a streamed response's whole (decoded) body within the deadline and the size cap.

    Raises:
        SendGridResponseTooLargeError: The body is larger than ``max_bytes``.
        DeadlineExceeded: The deadline passed.
        urllib3.exceptions.HTTPError: A read failed or timed out.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes, f"it declares {int(declared):,} bytes")
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    while True:
        _set_socket_timeout(raw, deadline)
        chunk = raw.read1(_CHUNK, decode_content=True)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(url, max_bytes, "more arrived")
        chunks.append(chunk)
    return b"".join(chunks)


def _set_socket_timeout(raw: urllib3.BaseHTTPResponse, deadline: float) -> None:
    """Let the next socket read wait no longer than what is left of the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    current = sock.gettimeout() if sock is not None else None
    if sock is not None and (current is None or current > left):
        sock.settimeout(left)


def _too_large(url: str, max_bytes: int, why: str) -> SendGridResponseTooLargeError:
    return SendGridResponseTooLargeError(
        f"GET {scrub_url(url)}: response body over the {max_bytes:,}-byte cap "
        f"(max_response_bytes; {why})",
        status_code=200,
    )
