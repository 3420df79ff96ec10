"""A hand-made ``sendgrid_staging`` data set for the dbt tests, shaped exactly like the loader's.

The tables come from the loader's own DDL (``sendgrid_elt.staging_schema``,
``sendgrid_elt.connection_health``); records are the JSON SendGrid returns (spec examples,
same shapes the simulator serves), exploded and keyed the way ``sendgrid_elt.extract.shape``
does. :func:`build_scenario` writes three tenants and returns the facts the marts must show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tests.transform.staging_rows import (
    FULL_KEY_SCOPES,
    Staging,
    create_staging,
    epoch,
    metrics,
)

__all__ = ["Staging", "TenantTruth", "build_scenario", "create_staging", "metrics"]


@dataclass
class TenantTruth:
    """What the marts must show for one tenant (computed from the records written)."""

    tenant_id: str
    plan_code: str
    credits_total: int
    credits_used: int
    roles: dict[str, int]
    pending_valid: int
    pending_expired: int
    subusers_total: int
    subusers_disabled: int
    subusers_active_30d: int
    daily_requests: dict[tuple[str, dt.date], int]
    keys_active: int
    keys_deleted: int
    suppressions: dict[str, int]
    features_used: set[str]
    not_licensed: set[str]
    missing_scope: set[str]


def _stats_rows(
    s: Staging, tenant: str, sender: str, days: list[dt.date], volume: int, salt: int
) -> dict[dt.date, int]:
    """Write daily stats for a sender the way the loader does; return requests per day."""
    out = {}
    for i, day in enumerate(days):
        req = 0 if (i * 7 + salt) % 11 == 0 else volume + (i * 37 + salt) % (volume // 3 + 1)
        out[day] = req
        m = metrics(req, i + salt)
        if sender == "":
            record = {"date": day.isoformat(), "stats": [{"metrics": m}]}
            s.add("global_stats", tenant, record, day.isoformat())
        else:  # /v3/subusers/stats, exploded with `date` carried (extract.shape)
            record = {"date": day.isoformat(), "type": "subuser", "name": sender, "metrics": m}
            s.add("subuser_stats", tenant, record, f"{day.isoformat()}|{sender}", subuser=sender)
    return out


def build_scenario(now: dt.datetime) -> tuple[Staging, dict[str, TenantTruth]]:
    """Three tenants: Pro with subusers, Essentials without Marketing, Free. Returns truth."""
    s = Staging(now=now)
    today = (now - dt.timedelta(microseconds=1)).date()  # the as-of day: the last complete one
    days = [today - dt.timedelta(days=d) for d in range(420, -1, -1)]
    month_start = today.replace(day=1)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    prev_month = (month_start - dt.timedelta(days=1)).replace(day=1)
    truths: dict[str, TenantTruth] = {}
    yesterday = now - dt.timedelta(days=1)
    week_ago = now - dt.timedelta(days=7)

    # ---------------------------------------------------------------- t01: Pro 300K, subusers
    t = "t01-acme-retail"
    s.tenants.append((t, "Acme Retail"))
    s.add("user_account", t, {"type": "paid", "reputation": 99.1})
    s.add("user_username", t, {"username": "acme_retail_7f3a", "user_id": 4412345}, "4412345")
    daily: dict[tuple[str, dt.date], int] = {}
    for sender, volume, salt in (("", 6000, 1), ("acme-ada01", 1500, 2), ("acme-ben02", 400, 3)):
        sender_days = days if sender != "acme-ben02" else days[:-45]  # ben stopped 45 days ago
        for day, req in _stats_rows(s, t, sender, sender_days, volume, salt).items():
            daily[(sender, day)] = req
    used = sum(v for (_, d), v in daily.items() if d >= month_start)
    # the previous month's last reading: taken on its last day, minutes after midnight (the
    # run as of that midnight), so without that day's sends (the marts add them from stats)
    prev_read = dt.datetime.combine(month_start - dt.timedelta(days=1), dt.time(0, 20), dt.UTC)
    prev_used = sum(v for (_, d), v in daily.items() if prev_month <= d < prev_read.date())
    credits_prev = {"remain": max(300000 - prev_used, 0), "total": 300000,
                    "overage": max(prev_used - 300000, 0), "used": prev_used,
                    "last_reset": prev_month.isoformat(), "next_reset": month_start.isoformat(),
                    "reset_frequency": "monthly"}  # fmt: skip
    s.add("user_credits", t, credits_prev, first_seen_at=now - dt.timedelta(days=40),
          extracted_at=prev_read, is_current=False)  # fmt: skip
    credits = {"remain": 300000 - used, "total": 300000, "overage": 0, "used": used,
               "last_reset": month_start.isoformat(), "next_reset": next_month.isoformat(),
               "reset_frequency": "monthly"}  # fmt: skip
    s.add("user_credits", t, credits, first_seen_at=now - dt.timedelta(hours=1))
    s.add("user_credits", t, {"type": "recurring", "reset_frequency": "monthly", "remain": 10,
                              "total": 10, "used": 0}, subuser="acme-ada01")  # fmt: skip
    owner = {"username": "acme_retail_7f3a", "email": "ada.adams@acme.example.com",
             "first_name": "Ada", "last_name": "Adams", "user_type": "owner", "is_admin": True,
             "phone": "+1 555 010 0000", "website": "https://www.acme.example.com",
             "address": "100 Main Street", "address2": "", "city": "Denver", "state": "CO",
             "zip": "80202", "country": "US"}  # fmt: skip
    mates = [owner]
    for name, role in (("benB1", "admin"), ("chloeC2", "teammate"), ("devD3", "teammate")):
        mates.append({**owner, "username": name, "email": f"{name}@acme.example.com",
                      "user_type": role, "is_admin": role == "admin"})  # fmt: skip
    for m in mates:
        s.add("teammates", t, m, m["username"], first_seen_at=week_ago)
    # chloe was a plain teammate, promoted to admin two days ago (old version kept)
    s.rows[-2].is_current = False
    s.rows[-2].last_seen_at = now - dt.timedelta(days=3)
    promoted = {**mates[2], "user_type": "admin", "is_admin": True}
    s.add("teammates", t, promoted, "chloeC2", first_seen_at=now - dt.timedelta(days=2))
    gone = {**owner, "username": "eliasE4", "email": "e4@acme.example.com",
            "user_type": "teammate", "is_admin": False}  # fmt: skip
    s.add("teammates", t, gone, "eliasE4", first_seen_at=week_ago, deleted_at=yesterday)
    for i, delta in enumerate((5, -2)):  # one valid invitation, one expired
        s.add("teammates_pending", t, {
            "email": f"invitee{i}@acme.example.com", "scopes": ["stats.read"],
            "is_admin": False, "token": f"tok{i}",
            "expiration_date": epoch(now + dt.timedelta(days=delta))}, f"tok{i}",
            first_seen_at=week_ago)  # fmt: skip
    for sid, name, disabled in ((901, "acme-ada01", False), (902, "acme-ben02", True)):
        s.add("subusers", t, {"disabled": disabled, "id": sid, "username": name,
                              "email": f"{name}@acme.example.com"}, str(sid),
              first_seen_at=week_ago)  # fmt: skip
    keys = [("k1", "Full access", None), ("k2", "Utilization read-only", None),
            ("k3", "Staging", yesterday)]  # fmt: skip
    for key_id, name, deleted in keys:
        s.add("api_keys", t, {"api_key_id": key_id, "name": name}, key_id,
              first_seen_at=week_ago, deleted_at=deleted)  # fmt: skip
    s.add("api_keys", t, {"api_key_id": "ks1", "name": "Sub key"}, "ks1", subuser="acme-ada01")
    for key_id, scopes, sub in (("k1", FULL_KEY_SCOPES, ""), ("k2", ["stats.read"], ""),
                                ("ks1", ["mail.send"], "acme-ada01")):  # fmt: skip
        s.add("api_key_scopes", t, {"api_key_id": key_id, "scopes": scopes}, key_id, subuser=sub)
    for tid, gen in (("6f1b3c1e-0b55-4ac2-9a51-3b4c8d9e0a11", "legacy"),
                     ("d-cd5b73442ffc4e37bdf247abbe8d3095", "dynamic"),
                     ("d-0aa1b2c3d4e5f60718293a4b5c6d7e8f", "dynamic")):  # fmt: skip
        s.add(
            "templates",
            t,
            {
                "id": tid,
                "name": f"{gen} template",
                "generation": gen,
                "updated_at": "2026-10-01 13:45:09",
                "versions": [],
            },
            tid,
        )
    for i, (status, age) in enumerate((("triggered", 10), ("draft", 5), ("triggered", 200))):
        send = now - dt.timedelta(days=age)
        rec = {"id": f"00000000-0000-4000-8000-00000000000{i}", "name": f"Campaign {i}",
               "abtest": None, "status": status, "categories": ["newsletter"],
               "is_abtest": False, "created_at": (send - dt.timedelta(days=3)).isoformat(),
               "updated_at": send.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        if status != "draft":
            rec["send_at"] = send.strftime("%Y-%m-%dT%H:%M:%SZ")
        s.add("singlesends", t, rec, rec["id"])
    s.add(
        "automation_stats",
        t,
        {
            "id": "a1",
            "aggregation": "total",
            "step_id": "all",
            "stats": {"requests": 120, "delivered": 118},
        },
        "a1|all|total",
    )
    s.add("contacts_count", t, {"contact_count": 4200, "billable_count": 4100})
    s.add("marketing_lists", t, {"id": "l1", "name": "List 1", "contact_count": 900}, "l1")
    s.add("segments", t, {"id": "sg1", "name": "Segment 1", "contacts_count": 40,
                          "created_at": "2026-01-02T03:04:05Z",
                          "updated_at": "2026-01-03T03:04:05Z"}, "sg1")  # fmt: skip
    s.add(
        "ips",
        t,
        {
            "ip": "198.51.100.7",
            "subusers": ["acme-ada01"],
            "pools": ["transactional"],
            "warmup": False,
            "start_date": None,
            "whitelabeled": True,
            "assigned_at": epoch(now - dt.timedelta(days=300)),
        },
        "198.51.100.7",
    )
    s.add("ip_pools", t, {"name": "transactional"}, "transactional")
    for did, valid in ((1000001, True), (1000002, False)):
        s.add(
            "authenticated_domains",
            t,
            {
                "id": did,
                "user_id": 4412345,
                "subdomain": "em1",
                "domain": f"d{did}.example.com",
                "username": "acme_retail_7f3a",
                "ips": [],
                "custom_spf": False,
                "default": True,
                "legacy": False,
                "automatic_security": True,
                "valid": valid,
                "dns": {},
                "last_validation_attempt_at": epoch(now - dt.timedelta(days=3)),
            },
            str(did),
        )
    s.add("link_branding", t, {"id": 300001, "domain": "acme.example.com", "subdomain": "links",
                               "username": "acme_retail_7f3a", "user_id": 4412345,
                               "default": True, "valid": True, "legacy": False, "dns": {}},
          "300001")  # fmt: skip
    s.add("event_webhooks", t, {"id": "wh1", "enabled": True, "url": "https://h.example.com/1",
                                "friendly_name": "Warehouse feed 1",
                                "created_date": "2025-03-01T10:00:00Z",
                                "updated_date": "2025-03-21T10:00:00Z"}, "wh1")  # fmt: skip
    s.add("event_webhook_limits", t, {"max_allowed": 5, "webhooks": [{"id": "wh1"}]})
    s.add(
        "parse_settings",
        t,
        {
            "url": "https://in.example.com/p",
            "hostname": "reply.acme",
            "spam_check": True,
            "send_raw": False,
        },
        "reply.acme",
    )
    # 2025-11-01T02:00Z: 2 hours into the plan recommendation's 12-month window (UTC days);
    # a build whose session is west of UTC must count it too
    s.add("validation_jobs", t, {"id": "01HV9Z", "status": "Done", "started_at": 1761962400,
                                 "finished_at": 1761963000}, "01HV9Z")  # fmt: skip
    s.add("categories", t, {"category": "newsletter"}, "newsletter")
    s.add("category_stats", t, {"date": (today - dt.timedelta(days=2)).isoformat(),
                                "type": "category", "name": "newsletter",
                                "metrics": metrics(300, 1)},
          f"{(today - dt.timedelta(days=2)).isoformat()}|newsletter")  # fmt: skip
    _acme_extras(s, t, now, daily, prev_month, month_start)
    supp = _suppressions(s, t, now, {"bounces": 14, "blocks": 6, "spam_reports": 2,
                                     "invalid_emails": 3, "unsubscribes": 9})  # fmt: skip
    for stream in ("user_account", "user_credits", "teammates", "teammates_pending", "subusers",
                   "global_stats", "subuser_stats", "api_keys", "templates", "singlesends", "ips",
                   "authenticated_domains", "event_webhooks", "validation_jobs"):  # fmt: skip
        s.statuses.append((t, stream, "ok"))
    s.statuses.append((t, "alerts", "missing_scope"))
    s.health.append({"tenant_id": t, "display_name": "Acme Retail", "status": "degraded",
                     "status_since": now - dt.timedelta(days=3), "last_error": None,
                     "last_success_at": now, "missing_scopes": ["alerts.read"]})  # fmt: skip
    truths[t] = TenantTruth(
        t, "pro_300k", 300000, used, {"owner": 1, "admin": 2, "teammate": 1}, 1, 1, 2, 1, 1,
        daily, 2, 1, supp,
        {"subusers", "dedicated_ips", "ip_pools", "domain_authentication", "link_branding",
         "dynamic_templates", "legacy_templates", "single_sends_90d", "automations",
         "marketing_contacts", "lists_segments", "event_webhooks", "inbound_parse",
         "email_validation", "categories", "unsubscribe_groups"},
        set(), {"alerts"})  # fmt: skip

    # ---------------------------------------- t02: Essentials 100K, no Marketing, heavy sender
    t = "t02-bluebird-bakery"
    s.tenants.append((t, "Bluebird Bakery"))
    s.add("user_account", t, {"type": "paid", "reputation": 97})
    s.add("user_username", t, {"username": "bluebird_ops", "user_id": 5523456}, "5523456")
    daily = {("", d): r for d, r in _stats_rows(s, t, "", days, 3300, 5).items()}
    used = sum(v for (_, d), v in daily.items() if d >= month_start)
    s.add("user_credits", t, {"remain": max(100000 - used, 0), "total": 100000,
                              "overage": max(used - 100000, 0), "used": used,
                              "last_reset": month_start.isoformat(),
                              "next_reset": next_month.isoformat(),
                              "reset_frequency": "monthly"})  # fmt: skip
    s.add("teammates", t, {**owner, "username": "bluebird_01", "user_type": "owner"},
          "bluebird_01", first_seen_at=week_ago)  # fmt: skip
    s.add("teammates", t, {**owner, "username": "kiraK1", "user_type": "teammate",
                           "is_admin": False}, "kiraK1", first_seen_at=week_ago)  # fmt: skip
    s.add("api_keys", t, {"api_key_id": "b1", "name": "Full access"}, "b1")
    s.add("api_key_scopes", t, {"api_key_id": "b1", "scopes": FULL_KEY_SCOPES}, "b1")
    s.add("event_webhook_limits", t, {"max_allowed": 2, "webhooks": [{}]})
    supp_b = _suppressions(s, t, now, {"bounces": 4, "blocks": 0, "spam_reports": 1,
                                       "invalid_emails": 0, "unsubscribes": 2})  # fmt: skip
    for stream in ("user_account", "user_credits", "teammates", "teammates_pending",
                   "global_stats", "api_keys", "ips", "alerts", "event_webhooks"):  # fmt: skip
        s.statuses.append((t, stream, "ok"))
    for stream in ("subusers", "subuser_stats", "singlesends", "automation_stats",
                   "contacts_count", "marketing_lists", "validation_jobs"):  # fmt: skip
        s.statuses.append((t, stream, "not_licensed"))
    s.health.append({"tenant_id": t, "display_name": "Bluebird Bakery", "status": "connected",
                     "status_since": now - dt.timedelta(days=20), "last_error": None,
                     "last_success_at": now})  # fmt: skip
    truths[t] = TenantTruth(
        t, "essentials_100k", 100000, used, {"owner": 1, "admin": 0, "teammate": 1}, 0, 0, 0, 0,
        0, daily, 1, 0, supp_b, set(), {"subusers", "single_sends_90d", "automations",
                                        "marketing_contacts", "lists_segments",
                                        "email_validation"}, set())  # fmt: skip

    # ------------------------------------------------------------------ t03: Free (daily reset)
    t = "t03-cedar-free"
    s.tenants.append((t, "Cedar Community Club"))
    s.add("user_account", t, {"type": "free", "reputation": 100})
    daily = {("", d): r for d, r in _stats_rows(s, t, "", days, 24, 7).items()}
    used = daily[("", today)]
    s.add("user_credits", t, {"remain": 100 - used, "total": 100, "overage": 0, "used": used,
                              "last_reset": today.isoformat(),
                              "next_reset": (today + dt.timedelta(days=1)).isoformat(),
                              "reset_frequency": "daily"})  # fmt: skip
    s.add("teammates", t, {**owner, "username": "cedar_01", "user_type": "owner"}, "cedar_01",
          first_seen_at=week_ago)  # fmt: skip
    for stream in ("user_account", "user_credits", "teammates", "teammates_pending",
                   "global_stats"):  # fmt: skip
        s.statuses.append((t, stream, "ok"))
    for stream in ("subusers", "subuser_stats"):
        s.statuses.append((t, stream, "not_licensed"))
    s.health.append({"tenant_id": t, "display_name": "Cedar Community Club",
                     "status": "needs_reconnect", "status_since": yesterday,
                     "last_error": "401 authorization required",
                     "last_success_at": now - dt.timedelta(days=2)})  # fmt: skip
    truths[t] = TenantTruth(
        t, "free", 100, used, {"owner": 1, "admin": 0, "teammate": 0}, 0, 0, 0, 0, 0, daily,
        0, 0, dict.fromkeys(("bounces", "blocks", "spam_reports", "invalid_emails",
                             "unsubscribes"), 0), set(), {"subusers"}, set())  # fmt: skip
    for tenant, stream, status in s.statuses:
        if status == "ok":
            success = now - dt.timedelta(days=2) if tenant == "t03-cedar-free" else now
            s.syncs.append((tenant, stream, success))
    return s, truths


def _acme_extras(
    s: Staging,
    t: str,
    now: dt.datetime,
    daily: dict[tuple[str, dt.date], int],
    prev_month: dt.date,
    month_start: dt.date,
) -> None:
    """Records of the streams that feed the profile, scopes, seats' credits and features."""
    s.add("user_profile", t, {"company": "Acme Retail Inc.", "country": "US",
                              "first_name": "Ada", "last_name": "Adams", "phone": "+1 555",
                              "website": "https://www.acme.example.com"})  # fmt: skip
    for scope in ("stats.read", "teammates.read", "user.credits.read"):
        s.add("scopes", t, {"scope": scope}, scope)
    s.add("subuser_credits", t, {"type": "recurring", "reset_frequency": "monthly",
                                 "remain": 40000, "total": 50000, "used": 10000},
          "acme-ada01", subuser="acme-ada01")  # fmt: skip
    template = "d-cd5b73442ffc4e37bdf247abbe8d3095"
    for v, age in ((0, 3), (1, 40)):
        s.add("template_versions", t, {"id": f"v{v}", "template_id": template,
                                       "active": int(v == 0), "name": f"v{v + 1}",
                                       "editor": "code", "updated_at": (
                                           now - dt.timedelta(days=age)
                                       ).strftime("%Y-%m-%d %H:%M:%S")},
              f"v{v}", parent_key=template)  # fmt: skip
    send_id = "00000000-0000-4000-8000-000000000000"  # the campaign sent 10 days ago
    s.add("singlesend_stats", t, {"id": send_id, "ab_variation": "", "ab_phase": "all",
                                  "aggregation": "total",
                                  "stats": {"requests": 500, "delivered": 490}},
          f"{send_id}||all|total", parent_key=send_id)  # fmt: skip
    s.add("ips_assigned", t, {"ip": "198.51.100.7", "pools": ["transactional"],
                              "warmup": False,
                              "start_date": epoch(now - dt.timedelta(days=300))},
          "198.51.100.7")  # fmt: skip
    s.add(
        "send_ips",
        t,
        {
            "ip": "198.51.100.7",
            "is_enabled": True,
            "is_leased": True,
            "is_auto_warmup": False,
            "region": "us",
            "added_at": epoch(now - dt.timedelta(days=300)),
        },
        "198.51.100.7",
    )
    for gid, name in ((11, "Newsletter"), (12, "Promotions")):
        s.add("asm_groups", t, {"id": gid, "name": name, "is_default": gid == 11,
                                "unsubscribes": 40}, str(gid))  # fmt: skip
    ada_prev = sum(v for (who, d), v in daily.items()
                   if who == "acme-ada01" and prev_month <= d < month_start)  # fmt: skip
    s.add("subuser_stats_monthly", t, {"date": prev_month.isoformat(), "type": "subuser",
                                       "name": "acme-ada01",
                                       "metrics": metrics(ada_prev, 1)},
          f"{prev_month.isoformat()}|acme-ada01")  # fmt: skip


def _suppressions(s: Staging, tenant: str, now: dt.datetime, counts: dict[str, int]) -> dict:
    """Entries spread over the last ~100 days (epoch `created`); returns counts per list."""
    for stream, n in counts.items():
        for i in range(n):
            created = now - dt.timedelta(days=i * 7 + 1, hours=i)
            email = f"{stream}{i}@example.org"
            record: dict[str, Any] = {"created": epoch(created), "email": email}
            if stream in ("bounces", "blocks"):
                record |= {"reason": "550 5.1.1 The email account does not exist.",
                           "status": "5.1.1"}  # fmt: skip
            elif stream == "invalid_emails":
                record["reason"] = "Mail domain mentioned in email address is unknown"
            elif stream == "spam_reports":
                record["ip"] = "10.63.202.100"
            s.add(stream, tenant, record, email)
        s.statuses.append((tenant, stream, "ok"))  # read, as the loader records it
    return dict(counts)
