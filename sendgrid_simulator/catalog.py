"""Small per-account collections (teammates, templates, lists, IPs, ...), built on first use.

Every builder is a pure function of ``(seed, account, anchor)``; the :class:`Catalog` only
caches results. Bodies follow the response schemas of the official spec.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import hashing, plans
from .tenants import FIRST_NAMES, LAST_NAMES, Account, Tenant

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SUBUSER_SIZES = {
    "categories": 3, "legacy_templates": 0, "dynamic_templates": 1, "singlesends": 1,
    "automations": 0, "lists": 1, "segments": 1, "contacts": 300, "domains": 1, "links": 0,
    "webhooks": 0, "parse": 0, "validation_jobs": 0, "alerts": 1, "asm_groups": 1,
    "decoy_keys": 1,
}  # fmt: skip
_CATEGORY_WORDS = (
    "welcome", "receipt", "password-reset", "newsletter", "promo", "shipping", "invoice",
    "digest", "alert", "onboarding", "survey", "reminder", "renewal", "abandoned-cart",
)  # fmt: skip
_TEMPLATE_WORDS = ("Welcome", "Receipt", "Reset password", "Weekly digest", "Order shipped",
                   "Invoice", "Reminder", "Survey", "Renewal notice", "Verify e-mail")  # fmt: skip
_CITIES = (("Denver", "CO", "80202"), ("Austin", "TX", "73301"), ("Portland", "OR", "97201"),
           ("Boston", "MA", "02108"), ("Chicago", "IL", "60601"))  # fmt: skip
_PHONE = "+1 555 010 {:04d}"


def epoch(day: dt.date, seconds: int = 0) -> int:
    """Unix time of ``day`` midnight UTC plus ``seconds``."""
    return (day - _EPOCH.date()).days * 86400 + seconds


def iso(day: dt.date, seconds: int = 0) -> str:
    """ISO 8601 UTC timestamp (``Z``) of ``day`` plus ``seconds``."""
    t = _EPOCH + dt.timedelta(seconds=epoch(day, seconds))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sql_ts(day: dt.date, seconds: int = 0) -> str:
    """``YYYY-MM-DD HH:MM:SS`` timestamp (the templates format)."""
    t = _EPOCH + dt.timedelta(seconds=epoch(day, seconds))
    return t.strftime("%Y-%m-%d %H:%M:%S")


class Catalog:
    """Builds and caches the small collections of every account of one world.

    Args:
        seed: Dataset seed.
        anchor: Start clock (collection dates are relative to it).
    """

    def __init__(self, seed: int, anchor: dt.date) -> None:
        self.seed = seed
        self.anchor = anchor
        self._cache: dict[tuple[str, str], Any] = {}

    def get(self, tenant: Tenant, account: Account, name: str) -> Any:
        """Return collection ``name`` of ``account`` (built once, then cached)."""
        key = (account.username, name)
        if key not in self._cache:
            self._cache[key] = getattr(self, f"_build_{name}")(tenant, account)
        return self._cache[key]

    def size(self, tenant: Tenant, account: Account, name: str) -> int:
        """Configured count of collection ``name`` for ``account``."""
        sizes = _SUBUSER_SIZES if account.is_subuser else tenant.profile.sizes
        count = sizes.get(name, 0)
        if name in ("singlesends", "automations", "lists", "segments", "contacts") and (
            plans.MARKETING not in tenant.features
        ):
            return 0
        return count

    def _r(self, account: Account, name: str):
        return hashing.rng(self.seed, account.username, name)

    def _day(self, account: Account, name: str, i: int, max_age: int) -> dt.date:
        age = hashing.h64(self.seed, account.username, name, i) % max(1, max_age)
        return max(account.created, self.anchor - dt.timedelta(days=int(age)))

    def _secs(self, account: Account, name: str, i: int) -> int:
        return int(hashing.h64(self.seed, account.username, name, "s", i) % 86400)

    # ----- people -------------------------------------------------------------------------
    def _build_teammates(self, tenant: Tenant, account: Account) -> list[dict]:
        if account.is_subuser:
            return []
        owner = account
        rows = [self.teammate(tenant, owner.username, owner.first_name, owner.last_name,
                              owner.email, "owner", 0)]  # fmt: skip
        n = min(tenant.profile.teammates, tenant.plan.teammates_max)
        for i in range(n):
            h = hashing.h64(self.seed, tenant.tenant_id, "teammate", i)
            first, last = FIRST_NAMES[h % 26], LAST_NAMES[(h >> 8) % 26]
            role = "admin" if i < max(1, n // 4) and n > 1 else "teammate"
            rows.append(self.teammate(tenant, f"{first}{last[0]}{i + 1}", first.title(),
                                      last.title(), None, role, i + 1))  # fmt: skip
        return rows

    def teammate(
        self,
        tenant: Tenant,
        username: str,
        first: str,
        last: str,
        email: str | None,
        role: str,
        i: int,
    ) -> dict:
        """One ``/v3/teammates`` row."""
        city, state, zip_code = _CITIES[hashing.h64(self.seed, tenant.tenant_id, username) % 5]
        domain = f"{tenant.profile.slug}.example.com"
        return {
            "username": username,
            "email": email or f"{username.lower()}@{domain}",
            "first_name": first,
            "last_name": last,
            "user_type": role,
            "is_admin": role in ("owner", "admin"),
            "phone": _PHONE.format(i),
            "website": f"https://www.{domain}",
            "address": f"{100 + i} Main Street",
            "address2": "",
            "city": city,
            "state": state,
            "zip": zip_code,
            "country": "US",
        }

    def _build_pending(self, tenant: Tenant, account: Account) -> list[dict]:
        if account.is_subuser:
            return []
        rows = []
        for i in range(tenant.profile.pending):
            sent_age = hashing.h64(self.seed, tenant.tenant_id, "invite", i) % 12
            expires = epoch(self.anchor, 43200) + (7 - int(sent_age)) * 86400
            first = FIRST_NAMES[(i * 7 + 3) % 26]
            rows.append({
                "email": f"{first}.invitee{i + 1}@{tenant.profile.slug}.example.com",
                "scopes": ["stats.read", "templates.read", "suppression.read"][: 1 + i % 3],
                "is_admin": i % 4 == 3,
                "token": hashing.hexid(32, self.seed, tenant.tenant_id, "invite-token", i),
                "expiration_date": expires,
            })  # fmt: skip
        return rows

    def _build_api_keys(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        if not account.is_subuser:
            rows.append({"api_key_id": tenant.full_key.split(".")[1], "name": "Full access"})
            rows.append({"api_key_id": tenant.restricted_key.split(".")[1],
                         "name": "Utilization read-only"})  # fmt: skip
        names = ("Production mail", "Staging", "Marketing sync", "CRM integration", "Backup job")
        for i in range(self.size(tenant, account, "decoy_keys")):
            _, key_id = hashing.api_key(self.seed, account.username, "decoy", i)
            rows.append({"api_key_id": key_id, "name": f"{names[i % 5]} {i + 1}"})
        return rows

    # ----- content ------------------------------------------------------------------------
    def _build_categories(self, tenant: Tenant, account: Account) -> list[str]:
        n = self.size(tenant, account, "categories")
        words = list(_CATEGORY_WORDS)
        return [words[i % len(words)] + ("" if i < len(words) else f"-{i // len(words)}")
                for i in range(n)]  # fmt: skip

    def _build_templates(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        for gen in ("legacy", "dynamic"):
            for i in range(self.size(tenant, account, f"{gen}_templates")):
                if gen == "legacy":
                    tid = hashing.uuid_from(self.seed, account.username, "tpl", gen, i)
                else:
                    tid = "d-" + hashing.hexid(32, self.seed, account.username, "tpl", gen, i)
                day = self._day(account, "tpl", i * 2 + (gen == "dynamic"), 500)
                versions = []
                for v in range(1 + hashing.h64(self.seed, tid) % 3):
                    vday = min(self.anchor, day + dt.timedelta(days=v * 9))
                    versions.append({
                        "id": hashing.uuid_from(self.seed, tid, "v", v),
                        "template_id": tid,
                        "active": 1 if v == 0 else 0,
                        "name": f"v{v + 1}",
                        "subject": f"{_TEMPLATE_WORDS[i % 10]} {{{{first_name}}}}",
                        "updated_at": sql_ts(vday, self._secs(account, "tplv", i * 7 + v)),
                        "generate_plain_content": True,
                        "editor": "design" if (i + v) % 2 else "code",
                        "thumbnail_url": f"https://thumbnails.example.com/{tid}/{v}.png",
                    })  # fmt: skip
                rows.append({
                    "id": tid,
                    "name": f"{_TEMPLATE_WORDS[i % 10]} {gen} {i + 1}",
                    "generation": gen,
                    "updated_at": sql_ts(day, self._secs(account, "tpl", i)),
                    "versions": versions,
                })  # fmt: skip
        return rows

    # ----- marketing ----------------------------------------------------------------------
    def _build_singlesends(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        cats = self.get(tenant, account, "categories")
        n = self.size(tenant, account, "singlesends")
        for i in range(n):
            sid = hashing.uuid_from(self.seed, account.username, "ss", i)
            age = int(hashing.h64(self.seed, sid) % 400) - 10  # a few scheduled in the future
            created = self.anchor - dt.timedelta(days=max(age, 0) + 3)
            status = "scheduled" if age < 0 else ("draft" if i % 6 == 5 else "triggered")
            row = {
                "id": sid,
                "name": f"Campaign {i + 1}: {_TEMPLATE_WORDS[i % 10]}",
                "abtest": None,
                "status": status,
                "categories": cats[i % len(cats) : i % len(cats) + 1] if cats else [],
                "is_abtest": False,
                "updated_at": iso(created + dt.timedelta(days=1), self._secs(account, "ss", i)),
                "created_at": iso(created, self._secs(account, "ss", i)),
            }
            if status != "draft":
                row["send_at"] = iso(self.anchor - dt.timedelta(days=age), 36000)
            if i % 5 == 2 and status == "triggered":
                row["is_abtest"] = True
                row["abtest"] = {
                    "type": "subject",
                    "winner_criteria": "open",
                    "test_percentage": 20,
                    "duration": "4 hours",
                    "winning_template_id": hashing.uuid_from(sid, "winner"),
                    "winner_selected_at": row["send_at"],
                    "expiration_date": iso(self.anchor - dt.timedelta(days=age - 7)),
                }
            rows.append(row)
        return rows

    def _metrics12(self, *parts: object) -> dict[str, int]:
        r = hashing.rng(self.seed, *parts)
        req = r.randint(200, 60000)
        delivered = int(req * r.uniform(0.93, 0.99))
        uo = int(delivered * r.uniform(0.15, 0.35))
        uc = int(uo * r.uniform(0.05, 0.2))
        return {
            "bounce_drops": int(req * 0.002), "bounces": int(req * r.uniform(0.002, 0.02)),
            "clicks": int(uc * 1.4), "delivered": delivered,
            "invalid_emails": int(req * 0.001), "opens": int(uo * 1.7), "requests": req,
            "spam_report_drops": int(req * 0.0003), "spam_reports": int(delivered * 0.0002),
            "unique_clicks": uc, "unique_opens": uo, "unsubscribes": int(delivered * 0.002),
        }  # fmt: skip

    def _build_singlesend_stats(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        for ss in self.get(tenant, account, "singlesends"):
            if ss["status"] != "triggered":
                continue
            if ss["is_abtest"]:
                for phase, var in (("test", "a"), ("test", "b"), ("send", "a")):
                    rows.append({"id": ss["id"], "ab_variation": hashing.uuid_from(ss["id"], var),
                                 "ab_phase": phase, "aggregation": "total",
                                 "stats": self._metrics12(ss["id"], phase, var)})  # fmt: skip
            rows.append({"id": ss["id"], "ab_variation": "", "ab_phase": "all",
                         "aggregation": "total", "stats": self._metrics12(ss["id"])})  # fmt: skip
        return rows

    def _build_automation_stats(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        for i in range(self.size(tenant, account, "automations")):
            aid = hashing.uuid_from(self.seed, account.username, "auto", i)
            rows.append({"id": aid, "aggregation": "total", "step_id": "all",
                         "stats": self._metrics12(aid)})  # fmt: skip
        return rows

    def _build_lists(self, tenant: Tenant, account: Account) -> list[dict]:
        total = self.size(tenant, account, "contacts")
        rows = []
        for i in range(self.size(tenant, account, "lists")):
            lid = hashing.uuid_from(self.seed, account.username, "list", i)
            share = 0.05 + 0.5 * hashing.unit(self.seed, lid)
            rows.append({"id": lid, "name": f"List {i + 1}", "contact_count": int(total * share)})
        return rows

    def _build_segments(self, tenant: Tenant, account: Account) -> list[dict]:
        lists = self.get(tenant, account, "lists")
        rows = []
        for i in range(self.size(tenant, account, "segments")):
            sid = hashing.uuid_from(self.seed, account.username, "seg", i)
            day = self._day(account, "seg", i, 300)
            parents = [lists[i % len(lists)]["id"]] if lists and i % 3 else []
            rows.append({
                "id": sid, "name": f"Segment {i + 1}",
                "contacts_count": int(hashing.h64(sid) % 5000),
                "created_at": iso(day, 3600), "updated_at": iso(day, 7200),
                "sample_updated_at": iso(self.anchor, 3600),
                "next_sample_update": iso(self.anchor + dt.timedelta(days=1), 3600),
                "parent_list_ids": parents, "query_version": "2",
                "status": {"query_validation": "VALID"},
            })  # fmt: skip
        return rows

    # ----- sending infrastructure -----------------------------------------------------------
    def _build_ips(self, tenant: Tenant, account: Account) -> list[dict]:
        if plans.DEDICATED_IPS not in tenant.features:
            return []
        pools = [p["name"] for p in self.get(tenant, tenant.parent, "pools")]
        subs = [s.username for s in tenant.subusers if not s.disabled]
        rows = []
        for i in range(tenant.profile.sizes.get("ips", 0)):
            start = self._day(tenant.parent, "ip", i, 700)
            warm = i % 5 == 4
            rows.append({
                "ip": f"198.51.100.{(tenant.index * 40 + i) % 250 + 1}",
                "subusers": subs[i % len(subs) : i % len(subs) + 1] if subs else [],
                "rdns": f"o{i + 1}.ptr{tenant.index}.{tenant.profile.slug}.example.com",
                "pools": [pools[i % len(pools)]] if pools else [],
                "warmup": warm,
                "start_date": epoch(start, 3600) if warm else None,
                "whitelabeled": True,
                "assigned_at": epoch(start, 7200) if i % 3 else None,
            })  # fmt: skip
        if account.is_subuser:
            return [ip for ip in rows if account.username in ip["subusers"]]
        return rows

    def _build_pools(self, tenant: Tenant, account: Account) -> list[dict]:
        names = ("transactional", "marketing", "notifications", "bulk")
        n = tenant.profile.sizes.get("pools", 0) if plans.DEDICATED_IPS in tenant.features else 0
        return [{"name": names[i % 4] + ("" if i < 4 else str(i))} for i in range(n)]

    def _build_send_ips(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        for i, ip in enumerate(self.get(tenant, account, "ips")):
            rows.append({
                "ip": ip["ip"],
                "pools": [{"name": p, "id": hashing.hexid(24, self.seed, tenant.tenant_id, p)}
                          for p in ip["pools"]],
                "is_auto_warmup": ip["warmup"], "is_parent_assigned": not ip["subusers"],
                "updated_at": ip["assigned_at"] or epoch(self.anchor - dt.timedelta(days=30)),
                "is_enabled": True, "is_leased": i % 4 != 3,
                "added_at": ip["start_date"] or epoch(self.anchor - dt.timedelta(days=400 - i)),
                "region": "us",
            })  # fmt: skip
        return rows

    def _build_domains(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        for i in range(self.size(tenant, account, "domains")):
            did = int(hashing.h64(self.seed, account.username, "dom", i) % 9_000_000) + 1_000_000
            domain = f"{'mail' if i == 0 else f'brand{i}'}.{tenant.profile.slug}.example.com"
            valid = i % 4 != 3
            sub = f"em{did % 10000}"

            def rec(host: str, data: str, ok: bool = valid) -> dict:
                return {"valid": ok, "type": "cname", "host": host, "data": data}

            rows.append({
                "id": did, "user_id": account.user_id, "subdomain": sub, "domain": domain,
                "username": account.username, "ips": [], "custom_spf": False,
                "default": i == 0, "legacy": False, "automatic_security": True,
                "valid": valid,
                "dns": {
                    "mail_cname": rec(f"{sub}.{domain}", f"u{account.user_id}.wl.sendgrid.net"),
                    "dkim1": rec(f"s1._domainkey.{domain}", f"s1.domainkey.u{account.user_id}"
                                                           ".wl.sendgrid.net"),
                    "dkim2": rec(f"s2._domainkey.{domain}", f"s2.domainkey.u{account.user_id}"
                                                           ".wl.sendgrid.net"),
                },
                "last_validation_attempt_at": epoch(self._day(account, "domv", i, 90), 600),
            })  # fmt: skip
        return rows

    def _build_links(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        for i in range(self.size(tenant, account, "links")):
            domain = f"{tenant.profile.slug}.example.com"
            sub = "links" if i == 0 else f"url{i}"
            rows.append({
                "id": int(hashing.h64(self.seed, account.username, "link", i) % 900_000) + 100_000,
                "domain": domain, "subdomain": sub, "username": account.username,
                "user_id": account.user_id, "default": i == 0, "valid": True, "legacy": False,
                "dns": {
                    "domain_cname": {"valid": True, "type": "cname", "host": f"{sub}.{domain}",
                                     "data": "sendgrid.net"},
                    "owner_cname": {"valid": True, "type": "cname",
                                    "host": f"{account.user_id}.{domain}",
                                    "data": "sendgrid.net"},
                },
            })  # fmt: skip
        return rows

    def _build_webhooks(self, tenant: Tenant, account: Account) -> dict:
        hooks = []
        for i in range(self.size(tenant, account, "webhooks")):
            created = self._day(account, "hook", i, 600)
            enabled = i % 3 != 2
            hook = {
                "id": hashing.uuid_from(self.seed, account.username, "hook", i),
                "enabled": enabled,
                "url": f"https://hooks.{tenant.profile.slug}.example.com/sendgrid/{i + 1}",
                "group_resubscribe": True, "delivered": True, "group_unsubscribe": True,
                "spam_report": True, "bounce": True, "deferred": i % 2 == 0,
                "unsubscribe": True, "processed": i % 2 == 0, "open": True, "click": True,
                "dropped": True, "friendly_name": f"Warehouse feed {i + 1}",
                "created_date": iso(created, 3600),
                "updated_date": iso(min(self.anchor, created + dt.timedelta(days=20)), 3600),
                "oauth_client_id": None, "oauth_token_url": None,
            }  # fmt: skip
            hooks.append(hook)
        # Quirk (docs/api-notes.md §9.8): an account without webhooks gets one empty object.
        return {"max_allowed": tenant.plan.event_webhooks_max, "webhooks": hooks or [{}]}

    def _build_parse(self, tenant: Tenant, account: Account) -> list[dict]:
        return [{"url": f"https://inbound.{tenant.profile.slug}.example.com/parse/{i + 1}",
                 "hostname": f"{'reply' if i == 0 else f'in{i}'}.{tenant.profile.slug}"
                             ".example.com",
                 "spam_check": i % 2 == 0, "send_raw": False}
                for i in range(self.size(tenant, account, "parse"))]  # fmt: skip

    def _build_validation_jobs(self, tenant: Tenant, account: Account) -> list[dict]:
        statuses = ("Done", "Done", "Done", "Error", "Processing")
        rows = []
        for i in range(self.size(tenant, account, "validation_jobs")):
            started = epoch(self._day(account, "val", i, 365), 1800)
            status = statuses[i % 5]
            row = {"id": hashing.hexid(26, self.seed, account.username, "val", i).upper(),
                   "status": status, "started_at": started}  # fmt: skip
            if status in ("Done", "Error"):
                row["finished_at"] = started + 600 + i * 37
            rows.append(row)
        return rows

    def _build_alerts(self, tenant: Tenant, account: Account) -> list[dict]:
        rows = []
        for i in range(self.size(tenant, account, "alerts")):
            created = epoch(self._day(account, "alert", i, 500), 100)
            row = {"created_at": created, "email_to": account.email,
                   "id": int(hashing.h64(self.seed, account.username, "alert", i) % 900_000),
                   "type": "usage_limit" if i % 2 == 0 else "stats_notification",
                   "updated_at": created + 86400}  # fmt: skip
            if i % 2 == 0:
                row["percentage"] = (90, 75, 50)[(i // 2) % 3]
            else:
                row["frequency"] = "weekly"
            rows.append(row)
        return rows

    def _build_asm_groups(self, tenant: Tenant, account: Account) -> list[dict]:
        names = ("Newsletter", "Promotions", "Product updates", "Events", "Surveys",
                 "Billing notices", "Digest", "Partners")  # fmt: skip
        return [{"id": int(hashing.h64(self.seed, account.username, "asm", i) % 90_000) + 10_000,
                 "name": names[i % 8], "description": f"{names[i % 8]} e-mails",
                 "is_default": i == 0,
                 "unsubscribes": int(hashing.h64(self.seed, account.username, "asmu", i) % 3000)}
                for i in range(self.size(tenant, account, "asm_groups"))]  # fmt: skip
