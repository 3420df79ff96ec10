"""Per-request context handed to endpoint handlers, and shared reply helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import params
from .pagination import link_header, wants_paging
from .tenants import Account, Tenant
from .wire import Reply, Request, json_reply
from .world import Credential, World


@dataclass
class Ctx:
    """What a handler knows about the call.

    Attributes:
        world: Simulator state.
        req: The request.
        tenant: Tenant of the credential.
        account: Acting account (a subuser under ``on-behalf-of``).
        cred: The credential used.
        path_params: Values of ``{placeholders}`` in the route.
    """

    world: World
    req: Request
    tenant: Tenant
    account: Account
    cred: Credential
    path_params: dict[str, str] = field(default_factory=dict)

    def collection(self, name: str) -> Any:
        """A catalog collection of the acting account."""
        return self.world.catalog.get(self.tenant, self.account, name)


Handler = Callable[[Ctx], Reply]


def offset_page(
    ctx: Ctx,
    items: list,
    default_limit: int | None = None,
    max_limit: int | None = None,
    min_limit: int = 1,
) -> Reply:
    """Serve ``items`` with ``limit``/``offset`` and a ``Link`` header (P1 style)."""
    req = ctx.req
    limit = params.integer(req, "limit", default_limit, lo=min_limit, hi=max_limit)
    offset = params.integer(req, "offset", 0, lo=0) or 0
    page = items[offset:] if limit is None else items[offset : offset + limit]
    headers = []
    if limit and (wants_paging(req) or default_limit is not None):
        headers.append(("link", link_header(req, limit, offset, len(items))))
    return json_reply(page, headers=headers)
