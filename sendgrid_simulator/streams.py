"""The simulated GET endpoints as data: path, scope, licensed feature and primary key."""

from __future__ import annotations

from dataclasses import dataclass

from . import plans


@dataclass(frozen=True)
class Stream:
    """One simulated endpoint.

    Attributes:
        name: Stream name used in the ground truth.
        path: Path template as in the spec (``{param}`` placeholders).
        scope: Scope the caller needs (``None``: any valid credential).
        feature: Plan feature the tenant needs (``None``: every plan).
        primary_key: Fields identifying a record.
        parent_only: ``on-behalf-of`` is refused (parent-level endpoints).
        spec: Vendored spec file holding the path.
    """

    name: str
    path: str
    scope: str | None
    feature: str | None
    primary_key: tuple[str, ...]
    parent_only: bool
    spec: str


def _s(name: str, path: str, scope: str | None, spec: str, pk: tuple[str, ...] = (),
       feature: str | None = None, parent_only: bool = False) -> Stream:  # fmt: skip
    return Stream(name, path, scope, feature, pk, parent_only, f"tsg_{spec}_v3.json")


MC, SUB, VAL = plans.MARKETING, plans.SUBUSERS, plans.VALIDATION

STREAMS: tuple[Stream, ...] = (
    _s("scopes", "/v3/scopes", None, "scopes", ("scope",)),
    _s("user_account", "/v3/user/account", "user.account.read", "user"),
    _s("user_credits", "/v3/user/credits", "user.credits.read", "user"),
    _s("user_username", "/v3/user/username", "user.username.read", "user", ("user_id",)),
    _s("user_profile", "/v3/user/profile", "user.profile.read", "user"),
    _s("teammates", "/v3/teammates", "teammates.read", "teammates", ("username",)),
    _s("teammates_pending", "/v3/teammates/pending", "teammates.read", "teammates", ("token",)),
    _s("subusers", "/v3/subusers", "subusers.read", "subusers", ("id",), SUB, True),
    _s("subuser_credits", "/v3/subusers/{subuser_name}/credits", "subusers.credits.read",
       "subusers", ("subuser_name",), SUB, True),
    _s("subuser_stats", "/v3/subusers/stats", "subusers.stats.read", "subusers", ("date", "name"),
       SUB, True),
    _s("subuser_stats_monthly", "/v3/subusers/stats/monthly", "subusers.stats.monthly.read",
       "subusers", ("date", "name"), SUB, True),
    _s("global_stats", "/v3/stats", "stats.read", "stats", ("date",)),
    _s("categories", "/v3/categories", "categories.read", "stats", ("category",)),
    _s("category_stats", "/v3/categories/stats", "categories.stats.read", "stats",
       ("date", "name")),
    _s("api_keys", "/v3/api_keys", "api_keys.read", "api_keys", ("api_key_id",)),
    _s("api_key_scopes", "/v3/api_keys/{api_key_id}", "api_keys.read", "api_keys", ("api_key_id",)),
    _s("templates", "/v3/templates", "templates.read", "templates", ("id",)),
    _s("template", "/v3/templates/{template_id}", "templates.read", "templates", ("id",)),
    _s("singlesends", "/v3/marketing/singlesends", "marketing.read", "mc_singlesends", ("id",),
       MC),
    _s("singlesend_stats", "/v3/marketing/stats/singlesends", "marketing.read", "mc_stats",
       ("id", "ab_variation", "ab_phase", "aggregation"), MC),
    _s("automation_stats", "/v3/marketing/stats/automations", "marketing.read", "mc_stats",
       ("id", "step_id", "aggregation"), MC),
    _s("contacts_count", "/v3/marketing/contacts/count", "marketing.read", "mc_contacts", (),
       MC),
    _s("marketing_lists", "/v3/marketing/lists", "marketing.read", "mc_lists", ("id",), MC),
    _s("segments", "/v3/marketing/segments/2.0", "marketing.read", "mc_segments_2.0", ("id",),
       MC),
    _s("ips", "/v3/ips", "ips.read", "ips", ("ip",)),
    _s("ip_pools", "/v3/ips/pools", "ips.pools.read", "ips", ("name",)),
    _s("ips_assigned", "/v3/ips/assigned", "ips.assigned.read", "ips", ("ip",)),
    _s("send_ips", "/v3/send_ips/ips", "ips.read", "ip_address_management", ("ip",)),
    _s("authenticated_domains", "/v3/whitelabel/domains", "whitelabel.read",
       "domain_authentication", ("id",)),
    _s("link_branding", "/v3/whitelabel/links", "whitelabel.read", "link_branding", ("id",)),
    _s("event_webhooks", "/v3/user/webhooks/event/settings/all",
       "user.webhooks.event.settings.read", "webhooks", ("id",)),
    _s("parse_settings", "/v3/user/webhooks/parse/settings", "user.webhooks.parse.settings.read",
       "webhooks", ("hostname",)),
    _s("parse_stats", "/v3/user/webhooks/parse/stats", "user.webhooks.parse.stats.read",
       "webhooks", ("date",)),
    _s("validation_jobs", "/v3/validations/email/jobs", "validations.email.read",
       "email_validation", ("id",), VAL),
    _s("alerts", "/v3/alerts", "alerts.read", "alerts", ("id",)),
    _s("bounces", "/v3/suppression/bounces", "suppression.bounces.read", "suppressions",
       ("email",)),
    _s("blocks", "/v3/suppression/blocks", "suppression.blocks.read", "suppressions",
       ("email",)),
    _s("spam_reports", "/v3/suppression/spam_reports", "suppression.spam_reports.read",
       "suppressions", ("email",)),
    _s("invalid_emails", "/v3/suppression/invalid_emails", "suppression.invalid_emails.read",
       "suppressions", ("email",)),
    _s("unsubscribes", "/v3/suppression/unsubscribes", "suppression.unsubscribes.read",
       "suppressions", ("email",)),
    _s("asm_groups", "/v3/asm/groups", "asm.groups.read", "suppressions", ("id",)),
)  # fmt: skip

BY_NAME: dict[str, Stream] = {s.name: s for s in STREAMS}
BY_PATH: dict[str, Stream] = {s.path: s for s in STREAMS}
