"""Minimal ASGI request/response types for the hot path (no framework overhead)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

JSON = "application/json"


@dataclass
class Request:
    """A parsed HTTP request.

    Attributes:
        method: Upper-case method.
        path: URL path (decoded).
        query: Query items in order (repeated names kept).
        headers: Lower-cased header names to values (last one wins).
        base_url: ``scheme://host[:port]`` as the client addressed the server.
        body: Request body bytes.
        client: Peer ``host:port``.
    """

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    base_url: str
    body: bytes = b""
    client: str = ""

    def q(self, name: str) -> str | None:
        """Last value of query parameter ``name`` (``None`` when absent)."""
        value = None
        for k, v in self.query:
            if k == name:
                value = v
        return value

    def qs(self, name: str) -> list[str]:
        """Every value of a repeatable parameter; comma-separated values are split too."""
        out: list[str] = []
        for k, v in self.query:
            if k == name or k == f"{name}[]":
                out.extend(p for p in v.split(",") if p)
        return out

    def csv(self, name: str) -> list[str]:
        """An ``explode: false`` array: one comma-separated value.

        Repeated, only the last one counts (a client that repeats it loses the other ids).
        """
        return [p for p in (self.q(name) or "").split(",") if p]

    def form(self) -> dict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded``."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        """The body parsed as JSON (``{}`` when empty)."""
        return json.loads(self.body) if self.body.strip() else {}

    def url(self, path: str | None = None, query: list[tuple[str, str]] | None = None) -> str:
        """Absolute URL on this server (defaults: the request's own path and query)."""
        items = self.query if query is None else query
        qs = urlencode(items, safe=",")
        return f"{self.base_url}{path or self.path}" + (f"?{qs}" if qs else "")


@dataclass
class Reply:
    """An HTTP response about to be sent."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = JSON


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(obj, separators=(",", ":")).encode()


def json_reply(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Reply:
    """A JSON reply."""
    return Reply(status, dumps(obj), headers or [])


def html_reply(html: str, status: int = 200) -> Reply:
    """An HTML reply."""
    return Reply(status, html.encode(), [], "text/html; charset=utf-8")


def redirect(location: str) -> Reply:
    """A ``302 Found`` redirect."""
    return Reply(302, b"", [("location", location)], "text/plain")


async def read_request(scope: dict, receive: Any) -> Request:
    """Build a :class:`Request` from an ASGI HTTP scope, reading the whole body."""
    headers: dict[str, str] = {}
    for k, v in scope["headers"]:
        headers[k.decode("latin-1").lower()] = v.decode("latin-1")
    body = b""
    if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
    host = headers.get("host")
    if not host and scope.get("server"):
        host = f"{scope['server'][0]}:{scope['server'][1]}"
    client = scope.get("client") or ("", 0)
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return Request(
        method=scope["method"],
        path=scope["path"],
        query=query,
        headers=headers,
        base_url=f"{scope.get('scheme', 'http')}://{host}",
        body=body,
        client=f"{client[0]}:{client[1]}",
    )


async def send_reply(send: Any, reply: Reply, extra: list[tuple[str, str]] | None = None) -> None:
    """Send ``reply`` through the ASGI ``send`` callable."""
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
    ]
    for k, v in reply.headers:
        headers.append((k.encode("latin-1"), v.encode("latin-1")))
    for k, v in extra or ():
        headers.append((k.encode("latin-1"), v.encode("latin-1")))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
