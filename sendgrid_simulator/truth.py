"""Ground truth: what a correct extractor + mart must find, computed from the world state.

Truth is a function of ``(seed, scale, start clock)`` and of the mutations applied since
(``advance``, key revocations). It reuses the generators the endpoints use, so counts match
the API exactly. It is computed at the simulator's instant ``World.now`` (``as_of`` in the
document): the marts built with that as-of instant must show the same figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import plans, scopes
from .api_account import credits
from .api_stats import month_metrics
from .context import Ctx
from .streams import STREAMS
from .suppressions import LISTS
from .tenants import Account, Tenant
from .wire import Request
from .world import World

PK_LIMIT = 1000


def stats_window(clock: dt.date) -> tuple[dt.date, dt.date]:
    """The window truth covers: first day of the month 13 months back, to the clock."""
    month = clock.month - 13
    year = clock.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, 1), clock


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, m = [], start.replace(day=1)
    while m <= end:
        out.append(m)
        m = (m + dt.timedelta(days=32)).replace(day=1)
    return out


def build_truth(world: World) -> dict[str, Any]:
    """Return the ground-truth document for the current state of ``world``."""
    with world.lock:
        start, end = stats_window(world.clock)
        return {
            "seed": world.seed,
            "scale": world.scale,
            "clock": world.clock.isoformat(),
            "as_of": world.now.isoformat().replace("+00:00", "Z"),
            "start_clock": world.anchor.isoformat(),
            "stats_window": {"start_date": start.isoformat(), "end_date": end.isoformat()},
            "changes": list(world.changes.log),
            "tenants": [_tenant(world, t, start, end) for t in world.tenants],
        }


def _ctx(world: World, t: Tenant, account: Account) -> Ctx:
    req = Request("GET", "/", [], {}, "http://simulator")
    cred = world.credentials.get(t.full_key)
    return Ctx(world, req, t, account, cred)  # type: ignore[arg-type]


def _requests_by_month(world: World, a: Account, start: dt.date, end: dt.date) -> dict[str, int]:
    out = {}
    for m in _months(start, end):
        nxt = (m + dt.timedelta(days=32)).replace(day=1)
        last = min(end - dt.timedelta(days=1), nxt - dt.timedelta(days=1))  # end: just begun
        out[m.strftime("%Y-%m")] = sum(
            world.stats.requests(a, m + dt.timedelta(days=d)) for d in range((last - m).days + 1)
        )
    return out


def _recent_requests(world: World, a: Account, days: int) -> int:
    """Emails of the ``days`` complete days before the clock date (which has just begun)."""
    return sum(world.stats.requests(a, world.clock - dt.timedelta(days=d))
               for d in range(1, days + 1))  # fmt: skip


def _tenant(world: World, t: Tenant, start: dt.date, end: dt.date) -> dict[str, Any]:
    cat = world.catalog
    parent = t.parent

    def get(name: str) -> Any:
        return cat.get(t, parent, name)

    ndays = (end - start).days + 1
    nmonths = len(_months(start, end))
    licensed = {s.name: (s.feature is None or s.feature in t.features) for s in STREAMS}
    teammates = world.teammates(t)
    pending = get("pending")
    now = world.now_epoch()
    keys = world.api_keys(t, parent)
    templates = get("templates")
    categories = get("categories")
    hooks = [h for h in get("webhooks")["webhooks"] if h]
    subs = t.subusers if licensed["subusers"] else []
    inactive = [s for s in subs if not s.disabled and _recent_requests(world, s, 30) == 0]
    suppression_lists = {k: world.suppression(parent, k) for k in LISTS}
    supp_counts = {k: lst.total(world.clock) for k, lst in suppression_lists.items()}
    ips = get("ips")
    singlesends = get("singlesends") if licensed["singlesends"] else []
    cutoff = world.now - dt.timedelta(days=90)
    recent_ss = [s for s in singlesends if "send_at" in s and s["status"] == "triggered"
                 and cutoff < dt.datetime.fromisoformat(s["send_at"]) <= world.now]  # fmt: skip
    lists = get("lists") if licensed["marketing_lists"] else []
    segments = get("segments") if licensed["segments"] else []
    contacts = cat.size(t, parent, "contacts") if licensed["contacts_count"] else 0
    domains = get("domains")
    counts = {
        "scopes": len(scopes.full_scopes(t.features)),
        "user_account": 1, "user_credits": 1, "user_username": 1, "user_profile": 1,
        "teammates": len(teammates), "teammates_pending": len(pending),
        "subusers": len(subs), "subuser_credits": len(subs),
        "subuser_stats": ndays * len(subs), "subuser_stats_monthly": nmonths * len(subs),
        "global_stats": ndays, "categories": len(categories),
        "category_stats": ndays * len(categories), "api_keys": len(keys),
        "api_key_scopes": len(keys),
        "templates": len(templates), "template": len(templates),
        "singlesends": len(singlesends),
        "singlesend_stats": len(get("singlesend_stats")) if licensed["singlesend_stats"] else 0,
        "automation_stats": len(get("automation_stats")) if licensed["automation_stats"] else 0,
        "contacts_count": 1 if licensed["contacts_count"] else 0,
        "marketing_lists": len(lists), "segments": len(segments),
        "ips": len(ips), "ip_pools": len(get("pools")),
        "ips_assigned": sum(1 for r in ips if r["assigned_at"]),
        "send_ips": len(get("send_ips")), "authenticated_domains": len(domains),
        "link_branding": len(get("links")), "event_webhooks": len(hooks),
        "parse_settings": len(get("parse")), "parse_stats": ndays,
        "validation_jobs": len(get("validation_jobs")) if licensed["validation_jobs"] else 0,
        "alerts": len(get("alerts")), **supp_counts, "asm_groups": len(get("asm_groups")),
    }  # fmt: skip
    pks: dict[str, list] = {
        "teammates": [m["username"] for m in teammates],
        "teammates_pending": [p["token"] for p in pending],
        "subusers": [s.user_id for s in subs],
        "categories": categories,
        "api_keys": [k["api_key_id"] for k in keys],
        "templates": [x["id"] for x in templates],
        "singlesends": [s["id"] for s in singlesends],
        "marketing_lists": [x["id"] for x in lists],
        "segments": [x["id"] for x in segments],
        "ips": [x["ip"] for x in ips],
        "authenticated_domains": [x["id"] for x in domains],
        "event_webhooks": [h["id"] for h in hooks],
        "alerts": [x["id"] for x in get("alerts")],
        "asm_groups": [x["id"] for x in get("asm_groups")],
    }
    for kind, lst in suppression_lists.items():
        if supp_counts[kind] <= PK_LIMIT:
            pks[kind] = [lst.email(i) for i in lst.live_indices(world.clock)]
    streams = {}
    for s in STREAMS:
        entry: dict[str, Any] = {"path": s.path, "licensed": licensed[s.name],
                                 "count": counts[s.name] if licensed[s.name] else 0,
                                 "primary_key": list(s.primary_key)}  # fmt: skip
        if s.name in pks and licensed[s.name] and len(pks[s.name]) <= PK_LIMIT:
            entry["primary_keys"] = pks[s.name]
        streams[s.name] = entry
    roles = {"owner": 0, "admin": 0, "teammate": 0}
    for m in teammates:
        roles[m["user_type"]] += 1
    forbidden_restricted = sorted(s.name for s in STREAMS if s.scope in t.restricted_missing)
    return {
        "tenant_id": t.tenant_id,
        "name": t.profile.name,
        "plan": t.plan.name,
        "account_type": t.plan.account_type,
        "username": parent.username,
        "user_id": parent.user_id,
        "licensed_features": sorted(t.features),
        "unlicensed_streams": sorted(n for n, ok in licensed.items() if not ok),
        "restricted_key_forbidden_streams": forbidden_restricted,
        "streams": streams,
        "aggregates": {
            "requests_by_month": _requests_by_month(world, parent, start, end),
            "requests_last_30_days": _recent_requests(world, parent, 30),
            "credits": credits(_ctx(world, t, parent)),
            "teammates_by_role": roles,
            "teammates_max": t.plan.teammates_max,
            "pending_invites": {
                "valid": sum(1 for p in pending if p["expiration_date"] > now),
                "expired": sum(1 for p in pending if p["expiration_date"] <= now),
            },
            "subusers": {
                "total": len(subs),
                "disabled": sum(1 for s in subs if s.disabled),
                "active": sum(1 for s in subs if not s.disabled),
                "inactive_30d": len(inactive),
                "inactive_30d_usernames": [s.username for s in inactive],
            },
            "api_keys": len(keys),
            # keys holding every scope of the tenant's Full Access key
            "api_keys_full_access": sum(
                1 for k in keys if set(k["scopes"]) >= scopes.full_scopes(t.features)
            ),
            "suppressions": supp_counts,
            "features": _features(
                world, t, counts, licensed, templates, hooks, domains, len(recent_ss), contacts
            ),
        },
        "subusers": {s.username: _subuser(world, t, s, start, end) for s in subs},
    }


def _features(world: World, t: Tenant, counts: dict, licensed: dict, templates: list,
              hooks: list, domains: list, recent_ss: int, contacts: int) -> dict:  # fmt: skip
    return {
        "subusers": counts["subusers"],
        "dedicated_ips": counts["ips"],
        "ip_pools": counts["ip_pools"],
        "domain_authentication": {"total": len(domains),
                                  "valid": sum(1 for d in domains if d["valid"])},
        "link_branding": counts["link_branding"],
        "dynamic_templates": sum(1 for x in templates if x["generation"] == "dynamic"),
        "legacy_templates": sum(1 for x in templates if x["generation"] == "legacy"),
        "single_sends_last_90_days": recent_ss,
        "automations": counts["automation_stats"],
        "contacts": contacts,
        "marketing_lists": counts["marketing_lists"],
        "segments": counts["segments"],
        "event_webhooks": {"total": len(hooks), "enabled": sum(1 for h in hooks if h["enabled"]),
                           "max_allowed": t.plan.event_webhooks_max},
        "inbound_parse": counts["parse_settings"],
        "email_validation_jobs": counts["validation_jobs"],
        "email_validation_licensed": plans.VALIDATION in t.features,
        "marketing_campaigns_licensed": plans.MARKETING in t.features,
        "alerts": counts["alerts"],
        "categories": counts["categories"],
    }  # fmt: skip


def _subuser(world: World, t: Tenant, s: Account, start: dt.date, end: dt.date) -> dict:
    ctx = _ctx(world, t, s)
    return {
        "user_id": s.user_id,
        "disabled": s.disabled,
        "requests_last_30_days": _recent_requests(world, s, 30),
        "requests_by_month": _requests_by_month(world, s, start, end),
        "requests_this_month": month_metrics(ctx, s, world.clock.replace(day=1))["requests"],
        "suppressions": {k: world.suppression(s, k).total(world.clock) for k in LISTS},
    }


def build_accounts(world: World) -> dict[str, Any]:
    """The ``accounts`` document: credentials and logins per tenant (clock independent)."""
    return {
        "seed": world.seed,
        "scale": world.scale,
        "tenants": [
            {
                "tenant_id": t.tenant_id,
                "name": t.profile.name,
                "plan": t.plan.name,
                "region": "global",
                "username": t.parent.username,
                "api_keys": {
                    "full": t.full_key,
                    "restricted": t.restricted_key,
                    "restricted_missing_scopes": list(t.restricted_missing),
                },
                "oauth": {
                    "client_id": t.oauth.client_id,
                    "client_secret": t.oauth.client_secret,
                    "login": t.oauth.login,
                    "password": t.oauth.password,
                    "redirect_uris": ["http://127.0.0.1:*/*", "http://localhost:*/*"],
                },
                "subusers": [s.username for s in t.subusers],
            }
            for t in world.tenants
        ],
    }
