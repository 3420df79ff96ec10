"""Statistics endpoints: global, category, subuser (daily and monthly), inbound parse."""

from __future__ import annotations

import datetime as dt

from . import hashing, params
from .context import Ctx, offset_page
from .errors import ParamError, bad_request, no_user_found
from .stats import METRICS, bucket_label
from .tenants import Account
from .wire import Reply, json_reply

AGGREGATIONS = ("day", "week", "month")


def date_window(ctx: Ctx) -> tuple[dt.date, dt.date, str]:
    """Parse ``start_date`` (required), ``end_date`` (default: simulated today), ``aggregated_by``.

    Raises:
        ParamError: Missing or malformed values, or ``end_date`` before ``start_date``.
    """
    start = params.date(ctx.req, "start_date", required=True)
    end = params.date(ctx.req, "end_date", default=ctx.world.clock)
    agg = params.choice(ctx.req, "aggregated_by", AGGREGATIONS, "day")
    if end < start:
        raise ParamError("end_date", "end_date must be after start_date")
    return start, end, agg or "day"


def _limit_offset(ctx: Ctx, rows: list) -> list:
    limit = params.integer(ctx.req, "limit", None, lo=1)
    offset = params.integer(ctx.req, "offset", 0, lo=0) or 0
    return rows[offset:] if limit is None else rows[offset : offset + limit]


def get_stats(ctx: Ctx) -> Reply:
    """``GET /v3/stats``: top-level array of ``{"date", "stats": [{"metrics"}]}``."""
    start, end, agg = date_window(ctx)
    rows = ctx.world.stats.series(ctx.account, start, end, ctx.world.clock, agg)
    body = [{"date": d.isoformat(), "stats": [{"metrics": m}]} for d, m in rows]
    return json_reply(_limit_offset(ctx, body))


def category_share(seed: int, account: Account, categories: list[str], name: str) -> float:
    """Share of an account's daily requests carrying category ``name``."""
    weights = [1.0 + 3.0 * hashing.unit(seed, account.username, "cat", c) for c in categories]
    return 0.9 * weights[categories.index(name)] / sum(weights)


def get_categories(ctx: Ctx) -> Reply:
    """``GET /v3/categories`` (``category`` prefix filter; limit default 50, offset)."""
    names = ctx.collection("categories")
    prefix = ctx.req.q("category")
    if prefix:
        names = [n for n in names if n.startswith(prefix)]
    return offset_page(ctx, [{"category": n} for n in names], default_limit=50)


def _required_names(ctx: Ctx, field: str, at_most: int = 10) -> list[str]:
    """The names given in query parameter ``field``: required, at most ``at_most`` of them."""
    names = ctx.req.qs(field)
    if not names:
        raise ParamError(field, f"{field} is required")
    if len(names) > at_most:
        raise ParamError(field, f"you may request at most {at_most} {field}")
    return names


def get_category_stats(ctx: Ctx) -> Reply:
    """``GET /v3/categories/stats`` (``categories`` required, up to 10)."""
    start, end, agg = date_window(ctx)
    wanted = _required_names(ctx, "categories")
    known = ctx.collection("categories")
    for name in wanted:
        if name not in known:
            return bad_request("categories", f"category {name} does not exist")
    world = ctx.world
    series = {
        c: world.stats.series(ctx.account, start, end, world.clock, agg, f"cat:{c}",
                              category_share(world.seed, ctx.account, known, c))
        for c in wanted
    }  # fmt: skip
    body = []
    for i, (d, _) in enumerate(series[wanted[0]]):
        body.append({"date": d.isoformat(),
                     "stats": [{"type": "category", "name": c, "metrics": series[c][i][1]}
                               for c in wanted]})  # fmt: skip
    return json_reply(body)


def get_subuser_stats(ctx: Ctx) -> Reply:
    """``GET /v3/subusers/stats`` (``subusers`` required, up to 10).

    A name that is no subuser of the tenant: 400 ``No user found``, as SendGrid's subuser
    endpoints answer an unknown subuser (:func:`~.errors.no_user_found`).
    """
    start, end, agg = date_window(ctx)
    names = _required_names(ctx, "subusers")
    by_name = {s.username: s for s in ctx.tenant.subusers}
    if any(n not in by_name for n in names):
        return no_user_found()
    subs = [by_name[n] for n in names]
    world = ctx.world
    series = [world.stats.series(s, start, end, world.clock, agg) for s in subs]
    body = []
    for i, (d, _) in enumerate(series[0]):
        body.append({"date": d.isoformat(),
                     "stats": [{"type": "subuser", "name": s.username, "metrics": series[j][i][1]}
                               for j, s in enumerate(subs)]})  # fmt: skip
    return json_reply(_limit_offset(ctx, body))


SORTABLE = ("blocks", "bounces", "clicks", "delivered", "opens", "requests", "unique_clicks",
            "unique_opens", "unsubscribes")  # fmt: skip


def month_metrics(ctx: Ctx, account: Account, month_start: dt.date) -> dict[str, int]:
    """Sum of one account's metrics over a calendar month (up to the clock)."""
    world = ctx.world
    nxt = (month_start + dt.timedelta(days=32)).replace(day=1)
    end = min(nxt - dt.timedelta(days=1), world.clock)
    totals = dict.fromkeys(METRICS, 0)
    if end < month_start:
        return totals
    for _, m in world.stats.series(account, month_start, end, world.clock, "month"):
        for k, v in m.items():
            totals[k] += v
    return totals


def get_subuser_stats_monthly(ctx: Ctx) -> Reply:
    """``GET /v3/subusers/stats/monthly`` (``date`` required; limit default 5)."""
    day = params.date(ctx.req, "date", required=True)
    metric = params.choice(ctx.req, "sort_by_metric", SORTABLE, "delivered")
    direction = params.choice(ctx.req, "sort_by_direction", ("desc", "asc"), "desc")
    month = day.replace(day=1)
    needle = ctx.req.q("subuser")
    rows = []
    for s in ctx.tenant.subusers:
        if needle and needle not in s.username:
            continue
        rows.append({"first_name": s.first_name, "last_name": s.last_name,
                     "metrics": month_metrics(ctx, s, month), "name": s.username,
                     "type": "subuser"})  # fmt: skip
    rows.sort(key=lambda r: (r["metrics"][metric], r["name"]), reverse=direction == "desc")
    page = offset_page(ctx, rows, default_limit=5)
    page.body = b'{"date":"' + month.isoformat().encode() + b'","stats":' + page.body + b"}"
    return page


def get_parse_stats(ctx: Ctx) -> Reply:
    """``GET /v3/user/webhooks/parse/stats`` (``received`` per bucket)."""
    start, end, agg = date_window(ctx)
    has_parse = bool(ctx.collection("parse"))
    rows: list[tuple[dt.date, int]] = []
    day = start
    while day <= end:
        received = 0
        if has_parse and ctx.account.created <= day < ctx.world.clock:
            received = int(hashing.h64(ctx.world.seed, ctx.account.username, "parse", day) % 120)
        label = bucket_label(day, start, agg)
        if rows and rows[-1][0] == label:
            rows[-1] = (label, rows[-1][1] + received)
        else:
            rows.append((label, received))
        day += dt.timedelta(days=1)
    body = [{"date": d.isoformat(), "stats": [{"metrics": {"received": n}}]} for d, n in rows]
    return json_reply(_limit_offset(ctx, body))


ROUTES = {
    "/v3/stats": get_stats,
    "/v3/categories": get_categories,
    "/v3/categories/stats": get_category_stats,
    "/v3/subusers/stats": get_subuser_stats,
    "/v3/subusers/stats/monthly": get_subuser_stats_monthly,
    "/v3/user/webhooks/parse/stats": get_parse_stats,
}
