"""The ``/v3`` pipeline: route, authenticate, rate-limit, inject faults, authorize, dispatch."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import time
from collections import Counter
from typing import Any

from . import api_account, api_content, api_infra, api_stats, api_suppressions, errors, scopes
from .context import Ctx, Handler
from .errors import ParamError, bad_request
from .faults import FaultInjector
from .ratelimit import RateLimiter
from .streams import BY_PATH, Stream
from .wire import Reply, Request, read_request, send_reply
from .world import Credential, World

HANDLERS: dict[str, Handler] = {
    **api_account.ROUTES,
    **api_stats.ROUTES,
    **api_content.ROUTES,
    **api_infra.ROUTES,
    **api_suppressions.ROUTES,
}


class Router:
    """Maps a concrete path to ``(template, handler, path params)``."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        """Index ``handlers`` by exact path and by segment count for templated paths."""
        self.exact = {p: h for p, h in handlers.items() if "{" not in p}
        self.templated = [(p.split("/"), p, h) for p, h in handlers.items() if "{" in p]

    def match(self, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        """Find the route of ``path`` (trailing slash tolerated)."""
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        handler = self.exact.get(path)
        if handler is not None:
            return path, handler, {}
        parts = path.split("/")
        for tparts, template, handler in self.templated:
            if len(tparts) != len(parts):
                continue
            values = {}
            for t, p in zip(tparts, parts, strict=True):
                if t.startswith("{"):
                    if not p:
                        break
                    values[t[1:-1]] = p
                elif t != p:
                    break
            else:
                return template, handler, values
        return None


class RequestCounts:
    """Per-endpoint, per-tenant and per-status request counters (for ``/__sim/requests``)."""

    def __init__(self) -> None:
        """Start at zero."""
        self.reset()

    def reset(self) -> None:
        """Forget every count."""
        self.by_endpoint: Counter[str] = Counter()
        self.by_tenant: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.total = 0

    def record(self, route: str, tenant: str | None, status: int, fault: str | None) -> None:
        """Count one request."""
        self.total += 1
        self.by_endpoint[f"GET {route}"] += 1
        if tenant:
            self.by_tenant[tenant] += 1
        self.by_status[str(status)] += 1
        if fault:
            self.faults[fault] += 1

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "total": self.total,
            "by_endpoint": dict(self.by_endpoint),
            "by_tenant": dict(self.by_tenant),
            "by_status": dict(self.by_status),
            "faults": dict(self.faults),
        }


def bearer(headers: dict[str, str]) -> str | None:
    """Extract the credential from ``Authorization`` (Bearer, or Basic ``apikey:<key>``)."""
    value = headers.get("authorization")
    if not value:
        return None
    kind, _, rest = value.strip().partition(" ")
    if kind.lower() == "bearer":
        return rest.strip() or None
    if kind.lower() == "basic":
        try:
            user, _, password = base64.b64decode(rest).decode().partition(":")
        except ValueError:
            return ""
        return password if user == "apikey" else ""
    return ""


class V3Api:
    """Serves ``/v3/*`` for one :class:`World`."""

    def __init__(self, world: World, limiter: RateLimiter, faults: FaultInjector) -> None:
        """Wire the state, the rate limiter and the fault injector."""
        self.world = world
        self.limiter = limiter
        self.faults = faults
        self.router = Router(HANDLERS)
        self.counts = RequestCounts()
        self.poisoner: Any = None  # set by the app: poisons record contents (.poison)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Handle one ASGI HTTP request under ``/v3``."""
        req = await read_request(scope, receive)
        match = self.router.match(req.path)
        route = match[0] if match else req.path
        token = bearer(req.headers)
        cred = self.world.authenticate(token) if token else None
        bucket = cred.bucket if cred else f"anon:{req.client.split(':')[0]}"
        real = time.time()
        date = self.world.http_now()  # the simulated clock: X-RateLimit-Reset is given in it
        verdict = self.limiter.check(bucket, route, now=real, offset=round(date - real))
        extra = [("date", email.utils.formatdate(date, usegmt=True))]
        extra += verdict.headers
        tenant_id = cred.tenant_id if cred else None
        fault = None
        if token is None:
            reply = errors.error(401, errors.AUTH_REQUIRED)
        elif cred is None:
            reply = errors.error(401, errors.GRANT_INVALID)
        elif not verdict.allowed:
            reply = errors.error(429, errors.TOO_MANY)
        else:
            if self.faults.config.latency_seconds:
                await asyncio.sleep(self.faults.config.latency_seconds)
            if self.faults.active:
                fault = self._fault(req, cred, route)
            if fault in ("429", "500", "502", "503", "drop"):
                reply = _fault_reply(fault)
                if fault == "drop":
                    self.counts.record(route, tenant_id, 0, fault)
                    await _drop(send)
                    return
            else:
                if fault == "slow":
                    await asyncio.sleep(self.faults.config.slow_seconds)
                reply = self._dispatch(req, cred, match)
                obo = _utf8(req.headers.get("on-behalf-of") or "").strip()
                if reply.status == 200 and route in BY_PATH:  # deletions waiting for a request
                    self.world.served(cred.tenant_id, obo, BY_PATH[route].name)
                if self.poisoner is not None:
                    reply = self.poisoner.apply(cred.tenant_id, obo, route, reply)
                if fault == "truncate" and len(reply.body) > 1:
                    reply = Reply(reply.status, reply.body[: max(1, len(reply.body) // 2)],
                                  reply.headers, reply.content_type)  # fmt: skip
        self.counts.record(route, tenant_id, reply.status, fault)
        await send_reply(send, reply, extra)

    def _fault(self, req: Request, cred: Credential, route: str) -> str | None:
        query = "&".join(f"{k}={v}" for k, v in sorted(req.query))
        obo = req.headers.get("on-behalf-of", "")
        identity = f"{req.method} {req.path}?{query}|{obo}|{cred.bucket}"
        return self.faults.decide(identity, f"{cred.bucket}|{route}")

    def _dispatch(self, req: Request, cred: Credential, match: Any) -> Reply:
        if match is None:
            return errors.error(404, errors.NOT_FOUND)
        if req.method not in ("GET", "HEAD"):
            return Reply(405, b'{"errors":[{"field":null,"message":"method not allowed"}]}')
        template, handler, path_params = match
        stream: Stream = BY_PATH[template]
        world = self.world
        tenant = world.by_id[cred.tenant_id]
        account = tenant.parent
        granted = cred.scopes
        obo = _utf8(req.headers.get("on-behalf-of") or "")
        if obo:
            if stream.parent_only:
                return errors.error(403, errors.FORBIDDEN)
            sub = next((s for s in tenant.subusers if s.username == obo.strip()), None)
            if sub is None:
                return errors.error(403, errors.FORBIDDEN)
            account = sub
            granted = {s for s in granted if not s.startswith(scopes.PARENT_ONLY_PREFIX)}
        if stream.scope and stream.scope not in granted:
            return errors.error(403, errors.FORBIDDEN)
        if stream.feature and stream.feature not in tenant.features:
            return errors.error(403, errors.FORBIDDEN)
        ctx = Ctx(world, req, tenant, account, cred, path_params)
        try:
            return handler(ctx)
        except ParamError as exc:
            return bad_request(exc.field, exc.message)


def _utf8(value: str) -> str:
    """A header value as UTF-8 text (servers decode headers as Latin-1 octets)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _fault_reply(kind: str) -> Reply:
    if kind == "429":
        return errors.error(429, errors.TOO_MANY)
    if kind == "500":
        return errors.error(500, errors.INTERNAL)
    if kind == "502":
        return Reply(502, errors.BAD_GATEWAY_HTML, [], "text/html")
    return errors.error(503, errors.UNAVAILABLE)


async def _drop(send: Any) -> None:
    """Close the connection without any response (uvicorn), else abort mid-response."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        cycle.disconnected = True  # tell uvicorn not to write a 500 afterwards
        transport.close()
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"1000")]})  # fmt: skip
    raise ConnectionAbortedError("simulated dropped connection")
