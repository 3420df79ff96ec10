"""A broken or hostile server: switches that make the simulator misbehave at the HTTP level.

Unlike :mod:`.faults` (random, retriable trouble), these switches are deterministic and aimed at
a client's bounds. Each applies to the ``/v3`` paths starting with one of ``paths`` (every
``/v3`` path when empty; ``/oauth/token`` only when listed):

* ``redirect_to`` - answer ``redirect_status`` (302) with ``Location`` on that origin (same path
  and query): a client must not follow it, nor send its credentials there;
* ``token_redirect_to`` - answer ``POST /oauth/token`` with a ``307`` to that origin (a client
  that follows it re-sends the refresh token and client secret);
* ``trickle_seconds`` - send each body in small pieces spread over that many seconds;
* ``retry_after`` - answer 429 with ``Retry-After: <value>``;
* ``answer_status`` - answer that status with ``answer_message`` in SendGrid's error body and no
  other header (a bare 429, a 401 on one endpoint, a 451 data-residency refusal);
* ``ratelimit_reset`` - every response says ``X-RateLimit-Remaining: 0`` and
  ``X-RateLimit-Reset: <value>`` (e.g. 4102444800, the year 2100);
* ``endless_next`` - ``_metadata`` pages always carry a ``next`` link, leading to empty pages
  that again carry one;
* ``pad_bytes`` - JSON bodies padded with trailing spaces to at least that many bytes (still
  valid JSON: an oversized body at no cost to the server).

``on_behalf_of`` narrows every switch to the requests made on behalf of that subuser;
``query_value`` to the requests whose query carries that value (one of a repeated parameter's
values or of a comma-separated list: one id of a chunk of ids).

Control API: ``GET|POST /__sim/hostile`` (``{}`` clears every switch); client: :func:`configure`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests

from .wire import Reply, Request, json_reply, read_request, send_reply

EMPTY_PAGE_PARAM = "__sim_empty"


@dataclass
class HostileConfig:
    """Which misbehaviours are on (see the module docstring)."""

    paths: list[str] = field(default_factory=list)
    redirect_to: str | None = None
    redirect_status: int = 302
    token_redirect_to: str | None = None
    trickle_seconds: float = 0.0
    retry_after: int | str | None = None
    answer_status: int | None = None
    answer_message: str = "error"
    on_behalf_of: str | None = None
    query_value: str | None = None
    ratelimit_reset: int | None = None
    endless_next: bool = False
    pad_bytes: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostileConfig:
        """Build from JSON.

        Raises:
            ValueError: Unknown switch.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown hostile switch(es) {sorted(unknown)}; known {sorted(known)}")
        cfg = cls(**data)
        cfg.paths = [str(p) for p in cfg.paths]
        return cfg


class HostileLayer:
    """Wraps the simulator's ASGI handler and applies the switches that are on."""

    def __init__(self) -> None:
        """Start with every switch off."""
        self.config = HostileConfig()

    def routes(self) -> dict[tuple[str, str], Any]:
        """Control-API routes to merge into :class:`~.control.ControlApi`."""
        return {("GET", "/__sim/hostile"): self.get, ("POST", "/__sim/hostile"): self.set}

    def get(self, req: Request) -> Reply:
        """Current switches."""
        return json_reply(asdict(self.config))

    def set(self, req: Request) -> Reply:
        """Replace the switches."""
        self.config = HostileConfig.from_dict(req.json())
        return json_reply(asdict(self.config))

    def applies(self, scope: dict) -> bool:
        """Whether a switch concerns this request."""
        c, path = self.config, scope.get("path", "")
        if path == "/oauth/token":
            return bool(c.token_redirect_to) or path in c.paths
        if not path.startswith("/v3/") or not self.active:
            return False
        if c.on_behalf_of is not None:
            headers = dict(scope.get("headers") or [])
            if headers.get(b"on-behalf-of", b"").decode("utf-8", "replace") != c.on_behalf_of:
                return False
        if c.query_value is not None:
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            if not any(c.query_value in v.split(",") for _, v in query):
                return False
        return not c.paths or any(path.startswith(p) for p in c.paths)

    @property
    def active(self) -> bool:
        """Whether a ``/v3`` switch is on."""
        c = self.config
        return bool(
            c.redirect_to or c.trickle_seconds > 0 or c.retry_after is not None
            or c.answer_status is not None or c.ratelimit_reset is not None or c.endless_next
            or c.pad_bytes
        )  # fmt: skip

    async def serve(self, scope: dict, receive: Any, send: Any, inner: Any) -> None:
        """Answer one request, misbehaving as configured (``inner`` is the real handler)."""
        c = self.config
        query = scope.get("query_string", b"").decode("latin-1")
        token = scope["path"] == "/oauth/token"
        if (token and c.token_redirect_to) or (not token and c.redirect_to):
            target = c.token_redirect_to if token else c.redirect_to
            status = 307 if token else c.redirect_status
            location = f"{str(target).rstrip('/')}{scope['path']}" + (f"?{query}" if query else "")
            await send_reply(send, Reply(status, b"", [("location", location)], "text/plain"))
            return
        if c.retry_after is not None:
            body = {"errors": [{"field": None, "message": "too many requests"}]}
            await send_reply(send, json_reply(body, 429, [("retry-after", str(c.retry_after))]))
            return
        if c.answer_status is not None:
            body = {"errors": [{"field": None, "message": c.answer_message}]}
            await send_reply(send, json_reply(body, c.answer_status))
            return
        if c.endless_next and EMPTY_PAGE_PARAM in dict(parse_qsl(query)):
            req = await read_request(scope, receive)
            await self._send(send, 200, [], _empty_page(req))
            return
        status, headers, body = await _capture(scope, receive, inner)
        if c.endless_next:
            body = _with_next(body, scope)
        if c.ratelimit_reset is not None:
            headers = [(k, v) for k, v in headers if not k.lower().startswith(b"x-ratelimit-")]
            headers += [(b"x-ratelimit-remaining", b"0"),
                        (b"x-ratelimit-reset", str(c.ratelimit_reset).encode())]  # fmt: skip
        if c.pad_bytes and len(body) < c.pad_bytes:
            body += b" " * (c.pad_bytes - len(body))
        await self._send(send, status, headers, body)

    async def _send(self, send: Any, status: int, headers: list, body: bytes) -> None:
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        if not any(k.lower() == b"content-type" for k, _ in headers):
            headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        seconds = self.config.trickle_seconds
        if seconds <= 0 or len(body) < 2:
            await send({"type": "http.response.body", "body": body})
            return
        pieces = min(len(body), 40)
        step = -(-len(body) // pieces)
        for i in range(0, len(body), step):
            piece = body[i : i + step]
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            await asyncio.sleep(seconds / pieces)
        await send({"type": "http.response.body", "body": b""})


async def _capture(scope: dict, receive: Any, inner: Any) -> tuple[int, list, bytes]:
    """Run the real handler and keep its response instead of sending it."""
    parts: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

    async def capture(message: dict) -> None:
        if message["type"] == "http.response.start":
            parts["status"], parts["headers"] = message["status"], list(message["headers"])
        elif message["type"] == "http.response.body":
            parts["body"] += message.get("body", b"")

    await inner(scope, receive, capture)
    return parts["status"], parts["headers"], parts["body"]


def _next_url(base: str, path: str, query: list[tuple[str, str]], page: int) -> str:
    items = [(k, v) for k, v in query if k != EMPTY_PAGE_PARAM] + [(EMPTY_PAGE_PARAM, str(page))]
    return f"{base}{path}?{urlencode(items)}"


def _with_next(body: bytes, scope: dict) -> bytes:
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    meta = doc.get("_metadata") if isinstance(doc, dict) else None
    if not isinstance(meta, dict) or meta.get("next"):
        return body
    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    meta["next"] = _next_url(f"{scope.get('scheme', 'http')}://{host}", scope["path"], query, 1)
    return json.dumps(doc, separators=(",", ":")).encode()


def _empty_page(req: Request) -> bytes:
    page = int(req.q(EMPTY_PAGE_PARAM) or "1")
    nxt = _next_url(req.base_url, req.path, req.query, page + 1)
    return json.dumps({"result": [], "_metadata": {"next": nxt}}).encode()


def configure(base_url: str, **switches: Any) -> dict[str, Any]:
    """Set the switches of the simulator at ``base_url`` (none given: all off).

    Args:
        base_url: Simulator root URL.
        **switches: Fields of :class:`HostileConfig`.

    Returns:
        The switches now in force.
    """
    r = requests.post(f"{base_url.rstrip('/')}/__sim/hostile", json=switches, timeout=30)
    r.raise_for_status()
    return r.json()
