"""ASGI application factory: ``/v3`` API, ``/oauth`` server and ``/__sim`` control API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .control import ControlApi
from .faults import FaultConfig, FaultInjector
from .hostile import HostileLayer
from .oauth import OAuthServer
from .poison import Poisoner
from .ratelimit import RateLimitConfig, RateLimiter
from .v3 import V3Api
from .wire import json_reply, read_request, send_reply
from .world import World

__all__ = ["FaultConfig", "RateLimitConfig", "SimulatorApp", "create_app"]


class SimulatorApp:
    """A raw ASGI 3 application (no framework on the hot path).

    Attributes:
        world: Simulator state.
        v3: The ``/v3`` API.
        oauth: The OAuth authorization server.
        control: The ``/__sim`` control API.
        hostile: HTTP-level misbehaviour switches (:mod:`.hostile`).
    """

    def __init__(
        self, world: World, rate_limit: RateLimitConfig | None, faults: FaultConfig | None
    ) -> None:
        """Assemble the components around ``world``."""
        self.world = world
        self.limiter = RateLimiter(rate_limit)
        self.faults = FaultInjector(world.seed, faults)
        self.v3 = V3Api(world, self.limiter, self.faults)
        self.oauth = OAuthServer(world)
        self.control = ControlApi(world, self.limiter, self.faults, self.oauth, self.v3)
        self.hostile = HostileLayer()
        self.control.routes.update(self.hostile.routes())
        self.poisoner = Poisoner(world)  # bad data inside records (:mod:`.poison`)
        self.v3.poisoner = self.poisoner
        self.control.routes.update(self.poisoner.routes())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """ASGI entry point."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if self.hostile.applies(scope):
            await self.hostile.serve(scope, receive, send, self._route)
            return
        await self._route(scope, receive, send)

    async def _route(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope["path"]
        if path.startswith("/v3/"):
            await self.v3(scope, receive, send)
            return
        req = await read_request(scope, receive)
        if path.startswith("/__sim/"):
            reply = self.control.handle(req)
        elif path == "/oauth/authorize" and req.method in ("GET", "POST"):
            reply = self.oauth.authorize(req)
        elif path == "/oauth/token" and req.method == "POST":
            reply = self.oauth.token(req)
        elif path == "/oauth/revoke" and req.method == "POST":
            reply = self.oauth.revoke(req)
        else:
            reply = json_reply({"errors": [{"field": None, "message": "not found"}]}, 404)
        await send_reply(send, reply)


def create_app(
    seed: int = 42,
    scale: str = "tiny",
    clock: dt.date | None = None,
    rate_limit: RateLimitConfig | None = None,
    faults: FaultConfig | None = None,
) -> SimulatorApp:
    """Build the simulator ASGI app.

    Args:
        seed: Dataset seed (same seed, scale and clock: identical data).
        scale: ``tiny`` (unit tests), ``demo`` (realistic) or ``large`` (benchmarks).
        clock: Start date of the simulated clock (default: today, UTC).
        rate_limit: Rate-limit rules (default ``default=1000/1s``).
        faults: Fault rates (default: none).

    Returns:
        The ASGI application; its ``world`` attribute holds the state.
    """
    return SimulatorApp(World(seed, scale, clock), rate_limit, faults)
