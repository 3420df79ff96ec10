"""The simulator's sending-infrastructure and integration collections of an account.

IPs, IP pools, authenticated domains, link brandings, event webhooks, inbound parse,
validation jobs, alerts and unsubscribe groups; bodies follow the official spec's schemas.
"""

from __future__ import annotations

import datetime as dt

from . import hashing, plans
from .catalog_base import CatalogBase, epoch, iso
from .tenants import Account, Tenant


class InfraCollections(CatalogBase):
    """Builders of the infrastructure and integration collections (see :class:`Catalog`)."""

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
