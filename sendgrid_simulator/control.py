"""The unauthenticated control API under ``/__sim/`` (a development tool: never expose it)."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Callable
from typing import Any

from .faults import FaultConfig, FaultInjector
from .oauth import OAuthServer
from .ratelimit import RateLimitConfig, RateLimiter
from .truth import build_accounts, build_truth
from .v3 import V3Api
from .wire import Reply, Request, json_reply
from .world import World


class ControlApi:
    """Routes ``/__sim/*`` requests to state changes and reports."""

    def __init__(
        self,
        world: World,
        limiter: RateLimiter,
        faults: FaultInjector,
        oauth: OAuthServer,
        v3: V3Api,
    ) -> None:
        """Wire every component the control API can change."""
        self.world, self.limiter, self.faults, self.oauth, self.v3 = (
            world,
            limiter,
            faults,
            oauth,
            v3,
        )
        self.routes: dict[tuple[str, str], Callable[[Request], Reply]] = {
            ("GET", "/__sim/health"): self.health,
            ("GET", "/__sim/accounts"): lambda r: json_reply(build_accounts(self.world)),
            ("GET", "/__sim/truth"): lambda r: json_reply(build_truth(self.world)),
            ("GET", "/__sim/clock"): self.clock,
            ("POST", "/__sim/advance"): self.advance,
            ("POST", "/__sim/keys/revoke"): self.revoke_key,
            ("POST", "/__sim/keys/drop_scopes"): self.drop_scopes,
            ("POST", "/__sim/oauth/revoke_refresh_tokens"): self.revoke_refresh_tokens,
            ("GET", "/__sim/oauth/config"): self.oauth_config,
            ("POST", "/__sim/oauth/config"): self.oauth_config,
            ("POST", "/__sim/oauth/redirect_uris"): self.add_redirect_uri,
            ("GET", "/__sim/faults"): self.get_faults,
            ("POST", "/__sim/faults"): self.set_faults,
            ("GET", "/__sim/rate_limit"): self.get_rate_limit,
            ("POST", "/__sim/rate_limit"): self.set_rate_limit,
            ("GET", "/__sim/requests"): lambda r: json_reply(self.v3.counts.to_dict()),
            ("POST", "/__sim/requests/reset"): self.reset_counts,
            ("POST", "/__sim/suppressions/delete"): self.delete_suppression,
            ("POST", "/__sim/suppressions/restore"): self.restore_suppression,
            ("POST", "/__sim/rows/delete"): self.delete_row,
        }

    def handle(self, req: Request) -> Reply:
        """Dispatch one control request (400 on bad input, 404 on unknown route)."""
        route = self.routes.get((req.method, req.path.rstrip("/")))
        if route is None:
            return json_reply(
                {"error": "not found", "routes": sorted(p for _, p in self.routes)}, 404
            )
        try:
            return route(req)
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
            return json_reply({"error": f"{type(exc).__name__}: {exc}"}, 400)

    def health(self, req: Request) -> Reply:
        """Liveness and identity."""
        w = self.world
        return json_reply(
            {"ok": True, "seed": w.seed, "scale": w.scale, "clock": w.clock.isoformat()}
        )

    def clock(self, req: Request) -> Reply:
        """Simulated date, start date, the instant data decisions use, and the ``Date`` header."""
        w = self.world
        now = w.http_now()
        return json_reply(
            {
                "date": w.clock.isoformat(),
                "start_date": w.anchor.isoformat(),
                "days_advanced": (w.clock - w.anchor).days,
                "as_of": w.now.isoformat().replace("+00:00", "Z"),
                "now": dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z"),
                "http_date": email.utils.formatdate(now, usegmt=True),
            }
        )

    def advance(self, req: Request) -> Reply:
        """``{"days": n}`` (default 1)."""
        days = int(req.json().get("days", 1))
        changes = self.world.advance(days)
        return json_reply({"clock": self.world.clock.isoformat(), "changes": changes})

    def revoke_key(self, req: Request) -> Reply:
        """``{"key": "SG..."}``: revoke an API key or OAuth access token."""
        key = req.json()["key"]
        return json_reply({"revoked": self.world.revoke_key(key)})

    def drop_scopes(self, req: Request) -> Reply:
        """``{"key": ..., "scopes": [...]}``."""
        data = req.json()
        return json_reply({"scopes": self.world.drop_scopes(data["key"], list(data["scopes"]))})

    def revoke_refresh_tokens(self, req: Request) -> Reply:
        """``{"tenant_id": ..., "access_tokens": true}``."""
        data = req.json()
        tenant_id = data["tenant_id"]
        if tenant_id not in self.world.by_id:
            raise KeyError(tenant_id)
        n = self.oauth.revoke_tenant(tenant_id, bool(data.get("access_tokens", True)))
        return json_reply({"grants_revoked": n})

    def oauth_config(self, req: Request) -> Reply:
        """Read or set ``{"access_token_ttl": seconds}``."""
        if req.method == "POST":
            data = req.json()
            if "access_token_ttl" in data:
                self.oauth.access_token_ttl = int(data["access_token_ttl"])
        return json_reply({"access_token_ttl": self.oauth.access_token_ttl})

    def add_redirect_uri(self, req: Request) -> Reply:
        """``{"client_id": ..., "redirect_uri": ...}``: register a non-loopback redirect URI."""
        data = req.json()
        if data["client_id"] not in self.oauth.clients:
            raise KeyError(data["client_id"])
        self.oauth.extra_redirects.setdefault(data["client_id"], set()).add(data["redirect_uri"])
        return json_reply({"redirect_uris": sorted(self.oauth.extra_redirects[data["client_id"]])})

    def get_faults(self, req: Request) -> Reply:
        """Current fault configuration."""
        return json_reply(self.faults.config.to_dict())

    def set_faults(self, req: Request) -> Reply:
        """Replace faults: ``{"spec": "500=0.1"}`` or ``{"500": 0.1, "slow_seconds": 1}``."""
        self.faults.set_config(FaultConfig.from_dict(req.json()))
        return json_reply(self.faults.config.to_dict())

    def get_rate_limit(self, req: Request) -> Reply:
        """Current rate-limit rules."""
        return json_reply({"spec": self.limiter.config.to_spec()})

    def set_rate_limit(self, req: Request) -> Reply:
        """Replace rules: ``{"spec": "default=5/1s,/v3/stats=2/10s"}``."""
        self.limiter.set_config(RateLimitConfig.parse(str(req.json()["spec"])))
        return json_reply({"spec": self.limiter.config.to_spec()})

    def delete_suppression(self, req: Request) -> Reply:
        """``{"tenant_id", "kind", "index", "after_requests"?, "subuser"?}``: delete one row.

        Row ``index`` (oldest first) of the account's list ``kind`` is deleted now, or once the
        list has answered ``after_requests`` more requests (a deletion in the middle of a read).
        """
        data = req.json()
        lst = self.world.suppression(self._account(data), str(data["kind"]))
        email = lst.delete(int(data["index"]), int(data.get("after_requests", 0)))
        return json_reply({"email": email})

    def restore_suppression(self, req: Request) -> Reply:
        """``{"tenant_id", "kind", "index", "subuser"?}``: list a deleted row again.

        With :meth:`delete_suppression` first, a row SendGrid lists late: its ``created`` is
        older than rows already served.
        """
        data = req.json()
        lst = self.world.suppression(self._account(data), str(data["kind"]))
        return json_reply({"email": lst.restore(int(data["index"]))})

    def _account(self, data: dict[str, Any]) -> Any:
        tenant = self.world.by_id[data["tenant_id"]]
        subuser = data.get("subuser") or ""
        if not subuser:
            return tenant.parent
        return next(s for s in tenant.subusers if s.username == subuser)

    def delete_row(self, req: Request) -> Reply:
        """``{"tenant_id", "stream", "index", "after_requests"?, "subuser"?}``: delete one row.

        Row ``index`` (in served order) of the offset-paged list ``stream`` (``teammates``,
        ``subusers``, ``api_keys`` or a suppression list) is deleted now, or once that list has
        answered ``after_requests`` more requests (:meth:`World.delete_row`).
        """
        data = req.json()
        key = self.world.delete_row(
            str(data["tenant_id"]), str(data["stream"]), int(data["index"]),
            int(data.get("after_requests", 0)), str(data.get("subuser") or ""),
        )  # fmt: skip
        return json_reply({"key": key})

    def reset_counts(self, req: Request) -> Reply:
        """Zero the request counters."""
        self.v3.counts.reset()
        return json_reply(self.v3.counts.to_dict())


def describe(obj: Any) -> str:
    """Compact JSON text (used by the CLI)."""
    return json.dumps(obj, indent=2, sort_keys=False)
