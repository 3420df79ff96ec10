"""Small per-account collections (teammates, templates, lists, IPs, ...), built on first use.

Every builder is a pure function of ``(seed, account, anchor)``; the :class:`Catalog` only
caches results. Bodies follow the response schemas of the official spec.
"""

from __future__ import annotations

import datetime as dt

from . import hashing, scopes
from .catalog_base import CatalogBase, epoch, iso, sql_ts
from .catalog_infra import InfraCollections
from .tenants import FIRST_NAMES, LAST_NAMES, Account, Tenant

__all__ = ["Catalog", "CatalogBase", "epoch", "iso", "sql_ts"]

_CATEGORY_WORDS = (
    "welcome", "receipt", "password-reset", "newsletter", "promo", "shipping", "invoice",
    "digest", "alert", "onboarding", "survey", "reminder", "renewal", "abandoned-cart",
)  # fmt: skip
_TEMPLATE_WORDS = ("Welcome", "Receipt", "Reset password", "Weekly digest", "Order shipped",
                   "Invoice", "Reminder", "Survey", "Renewal notice", "Verify e-mail")  # fmt: skip
_CITIES = (("Denver", "CO", "80202"), ("Austin", "TX", "73301"), ("Portland", "OR", "97201"),
           ("Boston", "MA", "02108"), ("Chicago", "IL", "60601"))  # fmt: skip
_PHONE = "+1 555 010 {:04d}"
#: Scopes of the restricted decoy keys by kind (the fifth kind, "Backup job", has them all).
_DECOY_SCOPES = {
    "Production mail": ("mail.send", "mail.batch.read"),
    "Staging": ("mail.send", "templates.read"),
    "Marketing sync": ("marketing.read", "stats.read"),
    "CRM integration": ("mail.send", "suppression.read", "user.account.read"),
}
#: Scopes SendGrid itself adds to keys (the spec's example), not permissions.
_SENDGRID_ASSIGNED = ("sender_verification_eligible", "2fa_required")


class Catalog(InfraCollections):
    """Builds and caches the small collections of every account of one world.

    People, content and Marketing Campaigns collections are built here, the infrastructure
    ones in :class:`~sendgrid_simulator.catalog_infra.InfraCollections`.

    Args:
        seed: Dataset seed.
        anchor: Start clock (collection dates are relative to it).
    """

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
        """Keys with their ``scopes`` (``GET /v3/api_keys`` shows id and name only)."""
        full = sorted(scopes.full_scopes(tenant.features))
        rows = []
        if not account.is_subuser:
            read_only = sorted(scopes.restricted_scopes(tenant.features, tenant.restricted_missing))
            rows.append({"api_key_id": tenant.full_key.split(".")[1], "name": "Full access",
                         "scopes": full})  # fmt: skip
            rows.append({"api_key_id": tenant.restricted_key.split(".")[1],
                         "name": "Utilization read-only", "scopes": read_only})  # fmt: skip
        names = ("Production mail", "Staging", "Marketing sync", "CRM integration", "Backup job")
        for i in range(self.size(tenant, account, "decoy_keys")):
            _, key_id = hashing.api_key(self.seed, account.username, "decoy", i)
            kind = names[i % 5]
            # every fifth key ("Backup job") holds every scope: the risk the mart flags
            granted = full if kind == "Backup job" else list(_DECOY_SCOPES[kind])
            rows.append({"api_key_id": key_id, "name": f"{kind} {i + 1}",
                         "scopes": [*granted, *_SENDGRID_ASSIGNED]})  # fmt: skip
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
