"""The five suppression lists: limit (1..500) / offset, epoch ``start_time``/``end_time``."""

from __future__ import annotations

from . import params
from .context import Ctx
from .errors import NOT_ACCEPTABLE, error
from .pagination import link_header, wants_paging
from .wire import Reply

DEFAULT_LIMIT = 500


def _acceptable(accept: str | None) -> bool:
    if not accept:
        return True
    return any(p.split(";")[0].strip() in ("*/*", "application/*", "application/json")
               for p in accept.split(","))  # fmt: skip


def make_handler(kind: str):
    """Build the handler of ``GET /v3/suppression/<kind>``."""

    def handler(ctx: Ctx) -> Reply:
        req = ctx.req
        if kind == "bounces" and not _acceptable(req.headers.get("accept")):
            return error(406, NOT_ACCEPTABLE)
        limit = params.integer(req, "limit", DEFAULT_LIMIT, lo=1, hi=500) or DEFAULT_LIMIT
        offset = params.integer(req, "offset", 0, lo=0) or 0
        start_time = params.integer(req, "start_time", None, lo=0)
        end_time = params.integer(req, "end_time", None, lo=0)
        email = req.q("email") or None
        lst = ctx.world.suppression(ctx.account, kind)
        clock = ctx.world.clock
        body = lst.page_json(clock, offset, limit, start_time, end_time, email).encode()
        lst.served()
        headers = []
        if wants_paging(req) and not email:
            total = lst.count_between(clock, start_time, end_time)
            headers.append(("link", link_header(req, limit, offset, total)))
        return Reply(200, body, headers)

    handler.__name__ = f"get_{kind}"
    handler.__doc__ = f"``GET /v3/suppression/{kind}``."
    return handler


ROUTES = {
    f"/v3/suppression/{kind}": make_handler(kind)
    for kind in ("bounces", "blocks", "spam_reports", "invalid_emails", "unsubscribes")
}
