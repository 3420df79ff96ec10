"""Account-level endpoints: scopes, user, teammates, API keys, subusers."""

from __future__ import annotations

import datetime as dt

from . import params, scopes
from .context import Ctx, offset_page
from .errors import NOT_FOUND, error, no_user_found
from .wire import Reply, json_reply


def get_scopes(ctx: Ctx) -> Reply:
    """``GET /v3/scopes``: the scopes of the calling credential."""
    granted = ctx.cred.scopes
    if ctx.account.is_subuser:
        granted = {s for s in granted if not s.startswith(scopes.PARENT_ONLY_PREFIX)}
    return json_reply({"scopes": sorted(granted)})


def get_account(ctx: Ctx) -> Reply:
    """``GET /v3/user/account``."""
    reputation = 99.0 if not ctx.account.disabled else 85.5
    rep = round(reputation - (ctx.account.user_id % 7) * 0.5, 1)
    return json_reply({"type": ctx.tenant.plan.account_type, "reputation": rep})


def credits(ctx: Ctx) -> dict:
    """Body of ``GET /v3/user/credits`` for the acting account.

    A parent's ``used`` counts its subusers' sends too: "Subusers feed off their parent account
    email credits, and all billing rolls up to the parent account" (SendGrid's Teammates docs,
    "Teammates vs Subusers"; ``docs/api-notes.md`` §4.1). A subuser acting for itself sees its
    own sends against its share.
    """
    world, plan = ctx.world, ctx.tenant.plan
    today = world.clock
    if plan.reset_frequency == "daily":
        start, next_reset = today, today + dt.timedelta(days=1)
    else:
        start = today.replace(day=1)
        next_reset = (start + dt.timedelta(days=32)).replace(day=1)
    total = plan.credits_total
    if ctx.account.is_subuser:
        total = max(1000, total // (len(ctx.tenant.subusers) + 1))
    senders = (ctx.account,) if ctx.account.is_subuser else (ctx.account, *ctx.tenant.subusers)
    used = 0
    day = start
    while day < today:  # the clock date has just begun: nothing sent yet
        used += sum(world.stats.requests(a, day) for a in senders)
        day += dt.timedelta(days=1)
    return {
        "remain": max(0, total - used),
        "total": total,
        "overage": max(0, used - total),
        "used": used,
        "last_reset": start.isoformat(),
        "next_reset": next_reset.isoformat(),
        "reset_frequency": plan.reset_frequency,
    }


def get_credits(ctx: Ctx) -> Reply:
    """``GET /v3/user/credits``."""
    return json_reply(credits(ctx))


def get_username(ctx: Ctx) -> Reply:
    """``GET /v3/user/username``."""
    return json_reply({"username": ctx.account.username, "user_id": ctx.account.user_id})


def get_profile(ctx: Ctx) -> Reply:
    """``GET /v3/user/profile``."""
    a = ctx.account
    slug = ctx.tenant.profile.slug
    return json_reply({
        "address": f"{100 + a.user_id % 800} Market Street", "address2": "",
        "city": "Denver", "company": ctx.tenant.profile.name, "country": "US",
        "first_name": a.first_name, "last_name": a.last_name,
        "phone": f"+1 555 01{a.user_id % 100:02d}", "state": "CO",
        "website": f"https://www.{slug}.example.com", "zip": "80202",
    })  # fmt: skip


def get_teammates(ctx: Ctx) -> Reply:
    """``GET /v3/teammates`` (limit 0..500, default 500; ``{"result": [...]}``)."""
    rows = [] if ctx.account.is_subuser else ctx.world.teammates(ctx.tenant)
    page = offset_page(ctx, rows, default_limit=500, max_limit=500, min_limit=0)
    page.body = b'{"result":' + page.body + b"}"
    return page


def get_pending(ctx: Ctx) -> Reply:
    """``GET /v3/teammates/pending``."""
    return json_reply({"result": ctx.collection("pending")})


def get_api_keys(ctx: Ctx) -> Reply:
    """``GET /v3/api_keys`` (``limit``; ``offset`` accepted as observed): ids and names only."""
    rows = [{"api_key_id": k["api_key_id"], "name": k["name"]}
            for k in ctx.world.api_keys(ctx.tenant, ctx.account)]  # fmt: skip
    page = offset_page(ctx, rows)
    page.body = b'{"result":' + page.body + b"}"
    return page


def get_api_key(ctx: Ctx) -> Reply:
    """``GET /v3/api_keys/{api_key_id}``: the key with its scopes, in the spec's array shape."""
    key_id = ctx.path_params["api_key_id"]
    for k in ctx.world.api_keys(ctx.tenant, ctx.account):
        if k["api_key_id"] == key_id:
            return json_reply({"result": [k]})
    return error(404, NOT_FOUND)


def _subuser_rows(ctx: Ctx, include_region: bool) -> list[dict]:
    rows = []
    for s in ctx.tenant.subusers:
        row = {"disabled": s.disabled, "id": s.user_id, "username": s.username,
               "email": s.email}  # fmt: skip
        if include_region:
            row["region"] = s.region
        rows.append(row)
    return rows


def get_subusers(ctx: Ctx) -> Reply:
    """``GET /v3/subusers`` (``username`` prefix filter, ``region``, limit/offset)."""
    region = params.choice(ctx.req, "region", ("all", "global", "eu"), "all")
    rows = _subuser_rows(ctx, params.boolean(ctx.req, "include_region"))
    name = ctx.req.q("username")
    if name:
        rows = [r for r in rows if r["username"].startswith(name)]
    if region != "all":
        rows = [r for r in rows if region == "global"]
    return offset_page(ctx, rows)


def get_subuser_credits(ctx: Ctx) -> Reply:
    """``GET /v3/subusers/{subuser_name}/credits``."""
    name = ctx.path_params["subuser_name"]
    sub = next((s for s in ctx.tenant.subusers if s.username == name), None)
    if sub is None:
        return no_user_found()
    i = ctx.tenant.subusers.index(sub)
    kind = ("recurring", "unlimited", "nonrecurring")[i % 3]
    if kind == "unlimited":
        return json_reply({"type": kind, "reset_frequency": "monthly", "remain": None,
                           "total": None, "used": None})  # fmt: skip
    world = ctx.world
    start = world.clock.replace(day=1)
    used = sum(world.stats.requests(sub, start + dt.timedelta(days=d))
               for d in range((world.clock - start).days))  # fmt: skip
    if kind == "nonrecurring":
        remain = max(0, 250_000 - used)
        return json_reply(
            {
                "type": kind,
                "reset_frequency": "monthly",
                "remain": remain,
                "total": None,
                "used": None,
            }
        )
    total = 50_000 * (1 + i % 4)
    return json_reply({"type": kind, "reset_frequency": "monthly",
                       "remain": max(0, total - used), "total": total, "used": used})  # fmt: skip


ROUTES = {
    "/v3/scopes": get_scopes,
    "/v3/user/account": get_account,
    "/v3/user/credits": get_credits,
    "/v3/user/username": get_username,
    "/v3/user/profile": get_profile,
    "/v3/teammates": get_teammates,
    "/v3/teammates/pending": get_pending,
    "/v3/api_keys": get_api_keys,
    "/v3/api_keys/{api_key_id}": get_api_key,
    "/v3/subusers": get_subusers,
    "/v3/subusers/{subuser_name}/credits": get_subuser_credits,
}
