"""Scope names (from the SendGrid permission lists) and the scopes each key kind holds."""

from __future__ import annotations

from . import plans

#: Read scopes the utilization extractor uses (docs/api-notes.md §7.2).
READ_SCOPES: tuple[str, ...] = (
    "user.account.read",
    "user.credits.read",
    "user.profile.read",
    "user.username.read",
    "user.email.read",
    "stats.read",
    "stats.global.read",
    "categories.read",
    "categories.stats.read",
    "categories.stats.sums.read",
    "subusers.read",
    "subusers.stats.read",
    "subusers.stats.sums.read",
    "subusers.stats.monthly.read",
    "subusers.reputations.read",
    "subusers.credits.read",
    "teammates.read",
    "api_keys.read",
    "templates.read",
    "templates.versions.read",
    "design_library.read",
    "marketing.read",
    "marketing.automation.read",
    "ips.read",
    "ips.assigned.read",
    "ips.pools.read",
    "ips.pools.ips.read",
    "ips.warmup.read",
    "whitelabel.read",
    "suppression.read",
    "suppression.bounces.read",
    "suppression.blocks.read",
    "suppression.spam_reports.read",
    "suppression.invalid_emails.read",
    "suppression.unsubscribes.read",
    "asm.groups.read",
    "asm.groups.suppressions.read",
    "user.webhooks.event.settings.read",
    "user.webhooks.parse.settings.read",
    "user.webhooks.parse.stats.read",
    "messages.read",
    "alerts.read",
    "mail_settings.read",
    "tracking_settings.read",
    "partner_settings.read",
    "access_settings.activity.read",
    "sso.settings.read",
    "user.scheduled_sends.read",
    "user.settings.enforced_tls.read",
    "validations.email.read",
)

#: A few non-read scopes a Full Access key also carries (realism for ``/v3/scopes``).
WRITE_SCOPES: tuple[str, ...] = (
    "mail.send",
    "alerts.create",
    "alerts.update",
    "alerts.delete",
    "templates.create",
    "templates.update",
    "templates.delete",
    "suppression.create",
    "suppression.delete",
    "api_keys.create",
    "api_keys.update",
    "api_keys.delete",
)

#: Scopes tied to a licensed feature: absent from keys of tenants without the feature.
FEATURE_SCOPES: dict[str, str] = {
    "marketing.read": plans.MARKETING,
    "marketing.automation.read": plans.MARKETING,
    "design_library.read": plans.MARKETING,
    "subusers.read": plans.SUBUSERS,
    "subusers.stats.read": plans.SUBUSERS,
    "subusers.stats.sums.read": plans.SUBUSERS,
    "subusers.stats.monthly.read": plans.SUBUSERS,
    "subusers.reputations.read": plans.SUBUSERS,
    "subusers.credits.read": plans.SUBUSERS,
    "validations.email.read": plans.VALIDATION,
}

#: Scopes a restricted key may be missing (one is chosen per tenant from the seed).
RESTRICTABLE: tuple[str, ...] = (
    "suppression.bounces.read",
    "templates.read",
    "teammates.read",
    "stats.read",
    "alerts.read",
    "whitelabel.read",
    "api_keys.read",
    "suppression.blocks.read",
)

#: Scopes never usable through ``on-behalf-of`` (parent-only areas).
PARENT_ONLY_PREFIX = "subusers."


def full_scopes(features: frozenset[str]) -> frozenset[str]:
    """Return the scopes of a Full Access key for a tenant licensing ``features``."""
    return frozenset(
        s
        for s in READ_SCOPES + WRITE_SCOPES
        if s not in FEATURE_SCOPES or FEATURE_SCOPES[s] in features
    )


def restricted_scopes(features: frozenset[str], missing: tuple[str, ...]) -> frozenset[str]:
    """Return the scopes of a tenant's read-only utilization key (``missing`` left out)."""
    return frozenset(s for s in full_scopes(features) if s in READ_SCOPES) - set(missing)
