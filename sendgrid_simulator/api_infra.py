"""Sending infrastructure and settings: IPs, sender authentication, webhooks, alerts, ASM."""

from __future__ import annotations

from . import params
from .context import Ctx, offset_page
from .errors import bad_request
from .wire import Reply, json_reply


def get_ips(ctx: Ctx) -> Reply:
    """``GET /v3/ips`` (limit default 10, offset, ``ip``, ``subuser``, sort direction)."""
    rows = list(ctx.collection("ips"))
    ip = ctx.req.q("ip")
    if ip:
        rows = [r for r in rows if r["ip"].startswith(ip)]
    sub = ctx.req.q("subuser")
    if sub:
        rows = [r for r in rows if sub in r["subusers"]]
    if params.boolean(ctx.req, "exclude_whitelabels"):
        rows = [r for r in rows if not r["whitelabeled"]]
    direction = params.choice(ctx.req, "sort_by_direction", ("desc", "asc"), None)
    if direction:
        rows.sort(key=lambda r: tuple(int(p) for p in r["ip"].split(".")),
                  reverse=direction == "desc")  # fmt: skip
    return offset_page(ctx, rows, default_limit=10)


def get_pools(ctx: Ctx) -> Reply:
    """``GET /v3/ips/pools``."""
    return json_reply(ctx.world.catalog.get(ctx.tenant, ctx.tenant.parent, "pools"))


def get_assigned(ctx: Ctx) -> Reply:
    """``GET /v3/ips/assigned``."""
    return json_reply([
        {"ip": r["ip"], "pools": r["pools"], "warmup": r["warmup"],
         "start_date": r["start_date"] or r["assigned_at"]}
        for r in ctx.collection("ips") if r["assigned_at"]
    ])  # fmt: skip


def get_send_ips(ctx: Ctx) -> Reply:
    """``GET /v3/send_ips/ips``: keyset paging with ``after_key``/``before_key``."""
    req = ctx.req
    limit = params.integer(req, "limit", 10, lo=1, hi=5000) or 10
    if req.q("after_key") and req.q("before_key"):
        return bad_request("after_key", "after_key and before_key cannot be used together")
    for name in ("after_key", "before_key"):
        raw = req.q(name)
        if raw not in (None, "") and not raw.isdigit():
            return bad_request(name, "must be a numeric value")
    rows = list(ctx.collection("send_ips"))
    if req.q("ip"):
        rows = [r for r in rows if r["ip"] == req.q("ip")]
    keyed = list(enumerate(rows, start=1))
    after, before = req.q("after_key"), req.q("before_key")
    if before:
        chosen = [kr for kr in keyed if kr[0] < int(before)][-limit:]
    else:
        chosen = [kr for kr in keyed if kr[0] > int(after or 0)][:limit]
    more = bool(chosen) and chosen[-1][0] < len(keyed)
    next_params: dict = {"after_key": str(chosen[-1][0]) if more else None, "limit": str(limit)}
    if chosen and chosen[0][0] > 1:
        next_params["before_key"] = str(chosen[0][0])
    return json_reply({"result": [r for _, r in chosen], "_metadata": {"next_params": next_params}})


def get_domains(ctx: Ctx) -> Reply:
    """``GET /v3/whitelabel/domains`` (limit/offset, ``domain``, ``username`` filters)."""
    rows = ctx.collection("domains")
    domain = ctx.req.q("domain")
    if domain:
        rows = [r for r in rows if r["domain"] == domain]
    username = ctx.req.q("username")
    if username:
        rows = [r for r in rows if r["username"] == username]
    return offset_page(ctx, rows)


def get_links(ctx: Ctx) -> Reply:
    """``GET /v3/whitelabel/links`` (``limit``; ``offset`` accepted as observed)."""
    return offset_page(ctx, ctx.collection("links"))


def get_event_webhooks(ctx: Ctx) -> Reply:
    """``GET /v3/user/webhooks/event/settings/all`` (``include=account_status_change``)."""
    body = ctx.collection("webhooks")
    if ctx.req.q("include") == "account_status_change":
        hooks = [{**h, "account_status_change": False} if h else h for h in body["webhooks"]]
        body = {**body, "webhooks": hooks}
    return json_reply(body)


def get_parse_settings(ctx: Ctx) -> Reply:
    """``GET /v3/user/webhooks/parse/settings``."""
    return json_reply({"result": ctx.collection("parse")})


def get_validation_jobs(ctx: Ctx) -> Reply:
    """``GET /v3/validations/email/jobs``."""
    return json_reply({"result": ctx.collection("validation_jobs")})


def get_alerts(ctx: Ctx) -> Reply:
    """``GET /v3/alerts``."""
    return json_reply(ctx.collection("alerts"))


def get_asm_groups(ctx: Ctx) -> Reply:
    """``GET /v3/asm/groups`` (repeatable ``id`` filter)."""
    rows = ctx.collection("asm_groups")
    ids = ctx.req.qs("id")
    if ids:
        rows = [r for r in rows if str(r["id"]) in set(ids)]
    return json_reply(rows)


ROUTES = {
    "/v3/ips": get_ips,
    "/v3/ips/pools": get_pools,
    "/v3/ips/assigned": get_assigned,
    "/v3/send_ips/ips": get_send_ips,
    "/v3/whitelabel/domains": get_domains,
    "/v3/whitelabel/links": get_links,
    "/v3/user/webhooks/event/settings/all": get_event_webhooks,
    "/v3/user/webhooks/parse/settings": get_parse_settings,
    "/v3/validations/email/jobs": get_validation_jobs,
    "/v3/alerts": get_alerts,
    "/v3/asm/groups": get_asm_groups,
}
