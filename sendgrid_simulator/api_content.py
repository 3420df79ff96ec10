"""Templates and Marketing Campaigns endpoints (``page_size``/``page_token`` pagination)."""

from __future__ import annotations

from . import params
from .context import Ctx
from .errors import NOT_FOUND, bad_request, error
from .pagination import metadata_page
from .wire import Reply, json_reply

GENERATIONS = ("legacy", "dynamic", "legacy,dynamic")


def get_templates(ctx: Ctx) -> Reply:
    """``GET /v3/templates``: ``page_size`` required (1..200); default generation legacy."""
    if ctx.req.q("page_size") in (None, ""):
        return bad_request("page_size", "page_size is required")
    size = params.integer(ctx.req, "page_size", lo=1, hi=200)
    gens = params.choice(ctx.req, "generations", GENERATIONS, "legacy") or "legacy"
    wanted = set(gens.split(","))
    rows = [
        {k: v for k, v in t.items()} for t in ctx.collection("templates")
        if t["generation"] in wanted
    ]  # fmt: skip
    page, meta = metadata_page(ctx.req, ctx.world.seed, rows, size or 1)
    return json_reply({"result": page, "_metadata": meta})


def get_template(ctx: Ctx) -> Reply:
    """``GET /v3/templates/{template_id}`` with full versions (content included)."""
    tid = ctx.path_params["template_id"]
    for t in ctx.collection("templates"):
        if t["id"] == tid:
            versions = []
            for v in t["versions"]:
                subject = v["subject"]
                html = (
                    f"<html><body><h1>{subject}</h1><p>Hello {{{{first_name}}}}</p></body></html>"
                )
                plain = f"{subject}\n\nHello {{{{first_name}}}}"
                versions.append({**v, "html_content": html, "plain_content": plain})
            return json_reply({**t, "versions": versions})
    return error(404, NOT_FOUND)


def _page_size(ctx: Ctx, default: int, hi: int) -> int:
    return params.integer(ctx.req, "page_size", default, lo=1, hi=hi) or default


def get_singlesends(ctx: Ctx) -> Reply:
    """``GET /v3/marketing/singlesends`` (page_size default 25, max 100)."""
    page, meta = metadata_page(ctx.req, ctx.world.seed, ctx.collection("singlesends"),
                               _page_size(ctx, 25, 100))  # fmt: skip
    return json_reply({"result": page, "_metadata": meta})


def _stats_list(ctx: Ctx, collection: str, id_param: str) -> Reply:
    ids = ctx.req.csv(id_param)  # style form, explode false in the spec
    if len(ids) > 25:
        return bad_request(id_param, f"{id_param} accepts at most 25 ids")
    rows = ctx.collection(collection)
    if ids:
        rows = [r for r in rows if r["id"] in set(ids)]
    page, meta = metadata_page(ctx.req, ctx.world.seed, rows, _page_size(ctx, 25, 50))
    return json_reply({"results": page, "_metadata": meta})


def get_singlesend_stats(ctx: Ctx) -> Reply:
    """``GET /v3/marketing/stats/singlesends`` (``results``; page_size 1..50, default 25)."""
    return _stats_list(ctx, "singlesend_stats", "singlesend_ids")


def get_automation_stats(ctx: Ctx) -> Reply:
    """``GET /v3/marketing/stats/automations``."""
    return _stats_list(ctx, "automation_stats", "automation_ids")


def get_contacts_count(ctx: Ctx) -> Reply:
    """``GET /v3/marketing/contacts/count`` (parent with subusers: ``billable_breakdown``)."""
    world, tenant = ctx.world, ctx.tenant
    count = world.catalog.size(tenant, ctx.account, "contacts")
    body: dict = {"contact_count": count, "billable_count": int(count * 0.97)}
    if not ctx.account.is_subuser and tenant.subusers:
        breakdown = {str(s.user_id): int(world.catalog.size(tenant, s, "contacts") * 0.97)
                     for s in tenant.subusers}  # fmt: skip
        body["billable_breakdown"] = {
            "total": body["billable_count"] + sum(breakdown.values()),
            "breakdown": breakdown,
        }
    return json_reply(body)


def get_lists(ctx: Ctx) -> Reply:
    """``GET /v3/marketing/lists`` (page_size 1..1000, default 100)."""
    rows = [{**r, "_metadata": {"self": ctx.req.url(f"/v3/marketing/lists/{r['id']}", [])}}
            for r in ctx.collection("lists")]  # fmt: skip
    page, meta = metadata_page(ctx.req, ctx.world.seed, rows, _page_size(ctx, 100, 1000))
    return json_reply({"result": page, "_metadata": meta})


def get_segments(ctx: Ctx) -> Reply:
    """``GET /v3/marketing/segments/2.0``: real shape ``{"results": [...]}`` (spec bug)."""
    rows = ctx.collection("segments")
    ids = ctx.req.qs("ids")
    if ids:
        rows = [r for r in rows if r["id"] in set(ids)]
    parents = ctx.req.qs("parent_list_ids")
    if parents:
        rows = [r for r in rows if set(r["parent_list_ids"]) & set(parents)]
    if params.boolean(ctx.req, "no_parent_list_id"):
        rows = [r for r in rows if not r["parent_list_ids"]]
    return json_reply({"results": rows})


ROUTES = {
    "/v3/templates": get_templates,
    "/v3/templates/{template_id}": get_template,
    "/v3/marketing/singlesends": get_singlesends,
    "/v3/marketing/stats/singlesends": get_singlesend_stats,
    "/v3/marketing/stats/automations": get_automation_stats,
    "/v3/marketing/contacts/count": get_contacts_count,
    "/v3/marketing/lists": get_lists,
    "/v3/marketing/segments/2.0": get_segments,
}
