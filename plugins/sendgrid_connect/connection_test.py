"""Make Admin -> Connections -> Test work for ``sendgrid`` connections (API-server middleware).

Airflow's UI (3.3) tests a listed connection by posting its row to
``POST /api/v2/connections/test``: the password as the masked sentinel ``***`` ("use the stored
one") and the port as ``Number(port)``, which is ``0`` for a connection without a port. The
API server reuses stored credentials only when host and port equal the stored ones, and it
compares ``0`` with the stored ``NULL``: "The host or port to test differs from the stored
connection", for every SendGrid connection (the form hides the port; SendGrid has none).

A SendGrid connection has no port: the hook reads only the base URL (``host``, which carries any
port). So for a body whose ``conn_type`` is ``sendgrid`` and whose ``port`` is an unset value
(``0``, ``null`` or ``""``), this middleware removes ``port`` before Airflow reads the body.
Everything else is Airflow's: a different host, or a real port, still needs its own credentials,
so a stored key is never sent to another endpoint.

Airflow tests a *copy* of the connection under a random id. For an OAuth connection a refresh
there would rotate the stored refresh token away (the rotated one is kept per connection id),
so the middleware also marks every ``sendgrid`` test body with the extra
:data:`~sendgrid_hook.constants.TEST_COPY_EXTRA`, and the hook declines OAuth tests so marked.

``POST /api/v2/connections/enqueue-test`` (Airflow 3.3) has a worker test the body *under the
real connection id*, with nothing merged from the stored connection, for any user who may create
connections. An OAuth test there would read and rotate that id's stored tokens (or overwrite
them with a token of the caller's), so its ``sendgrid`` bodies are marked too, unless they
declare an API key (which touches no stored token): the hook declines them, and a declined test
is never committed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sendgrid_hook.constants import CONN_TYPE, TEST_COPY_EXTRA

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Path of Airflow's connection test endpoint (below the API server's root path).
TEST_PATH = "/api/v2/connections/test"
#: Path of Airflow's endpoint queueing a connection test for a worker.
ENQUEUE_TEST_PATH = "/api/v2/connections/enqueue-test"
#: Larger test bodies are refused (413); a connection is a few kilobytes.
MAX_BODY = 1 << 20
_UNSET_PORTS = (0, None, "")


def normalize_test_body(raw: bytes) -> bytes:
    """Drop the unset ``port`` of a ``sendgrid`` connection test body and mark it a test copy.

    Args:
        raw: The JSON request body of ``POST /api/v2/connections/test``.

    Returns:
        For a ``sendgrid`` body: without ``port`` when it is ``0``, ``null`` or ``""``, and with
        ``TEST_COPY_EXTRA`` in its ``extra`` (Airflow merges it into the stored extras). Any
        other body, or one that is not JSON, unchanged.
    """
    body = _sendgrid_body(raw)
    if body is None:
        return raw
    port = body.get("port", 1)
    if not isinstance(port, bool) and port in _UNSET_PORTS:
        del body["port"]
    try:
        extra = json.loads(body.get("extra") or "{}")
    except (TypeError, ValueError):
        extra = None  # not a JSON object: Airflow stores it as is, so no stored OAuth extras
    if isinstance(extra, dict):
        body["extra"] = json.dumps({**extra, TEST_COPY_EXTRA: True})
    return json.dumps(body).encode()


def mark_enqueued_test_body(raw: bytes) -> bytes:
    """Mark a ``sendgrid`` body of ``POST /api/v2/connections/enqueue-test`` as a test copy.

    Args:
        raw: The JSON request body.

    Returns:
        For a ``sendgrid`` body whose extras are a JSON object that does not declare an API key:
        ``TEST_COPY_EXTRA`` added to its ``extra`` (the hook then declines the OAuth test, so no
        stored token of the real connection id is read, sent or replaced). Any other body
        unchanged (extras that are no JSON object make the hook refuse the connection anyway).
    """
    body = _sendgrid_body(raw)
    if body is None:
        return raw
    try:
        extra = json.loads(body.get("extra") or "{}")
    except (TypeError, ValueError):
        return raw
    if not isinstance(extra, dict) or _declares_api_key(extra):
        return raw
    body["extra"] = json.dumps({**extra, TEST_COPY_EXTRA: True})
    return json.dumps(body).encode()


def _sendgrid_body(raw: bytes) -> dict[str, Any] | None:
    """The JSON object of a ``sendgrid`` connection body, else ``None`` (left unchanged)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("conn_type") != CONN_TYPE:
        return None
    return body


def _declares_api_key(extra: dict[str, Any]) -> bool:
    """Whether every ``auth_type`` the extras give is ``api_key`` (the hook's default)."""
    given = [extra.get(k) for k in ("auth_type", f"extra__{CONN_TYPE}__auth_type")]
    given = [value for value in given if value not in (None, "")]
    return all(isinstance(v, str) and v.strip().lower() == "api_key" for v in given)


class SendGridConnectionTestMiddleware:
    """ASGI middleware rewriting ``sendgrid`` bodies of Airflow's connection test endpoints.

    :func:`normalize_test_body` for ``/test``, :func:`mark_enqueued_test_body` for
    ``/enqueue-test``.

    Args:
        app: The API server's ASGI application.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass every request through; rewrite only the body of a connection test."""
        rewrite = _rewrite_of(scope)
        if rewrite is None:
            await self.app(scope, receive, send)
            return
        raw, more, pending = await _read_body(receive)
        if more:  # too large to be a connection: refused, never passed on unmarked
            await _too_large(send)
            return
        body = rewrite(raw)
        if body is not raw:
            scope = dict(scope)
            scope["headers"] = [
                (name, str(len(body)).encode() if name.lower() == b"content-length" else value)
                for name, value in scope.get("headers", [])
            ]
        await self.app(scope, _replay(body, receive, pending), send)


async def _too_large(send: Send) -> None:
    """Answer 413 to a test body too large to read whole.

    Passed on, it would reach Airflow unmarked: an OAuth copy would then be refreshed with the
    stored secrets, at a token URL of the body's choosing.
    """
    body = json.dumps({"detail": f"A connection test body is at most {MAX_BODY} bytes."}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _rewrite_of(scope: Scope) -> Callable[[bytes], bytes] | None:
    """The body rewrite of a connection test request, ``None`` for any other request."""
    if scope.get("type") != "http" or scope.get("method") != "POST":
        return None
    path = str(scope.get("path", "")).rstrip("/")
    if path.endswith(TEST_PATH):
        return normalize_test_body
    if path.endswith(ENQUEUE_TEST_PATH):
        return mark_enqueued_test_body
    return None


async def _read_body(receive: Receive) -> tuple[bytes, bool, list[Message]]:
    """Read the request body up to :data:`MAX_BODY`.

    Returns:
        ``(body, more_body, other_messages)``: ``more_body`` is true when the limit stopped the
        read; ``other_messages`` holds a non-body message (a disconnect) to hand on.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False, [message]
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False, []
        if size > MAX_BODY:
            return b"".join(chunks), True, []


def _replay(body: bytes, receive: Receive, pending: list[Message]) -> Receive:
    """A ``receive`` that yields ``body`` first, then what is left of the real stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
