"""Tenants (SendGrid organizations) per scale, their accounts, credentials and OAuth clients."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import hashing, plans, scopes

SCALES = ("tiny", "demo", "large")

FIRST_NAMES = (
    "ada", "ben", "chloe", "dev", "elena", "farid", "grace", "hugo", "ines", "jonas",
    "kira", "liam", "maya", "noah", "olga", "pablo", "quinn", "rosa", "sami", "tara",
    "uma", "viktor", "wen", "xavier", "yara", "zane",
)  # fmt: skip
LAST_NAMES = (
    "adams", "baker", "costa", "diaz", "evans", "fischer", "garcia", "hansen", "ito",
    "jensen", "kowalski", "lopez", "moreau", "nakamura", "okafor", "petrov", "quint",
    "rossi", "silva", "tanaka", "ueda", "varga", "weber", "xu", "young", "zimmer",
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """Size and shape of one tenant's data (counts are for the parent account).

    Attributes:
        slug: Stable part of the tenant id.
        name: Company name.
        plan: Plan name (key of :data:`plans.PLANS`).
        subusers: Number of subusers.
        daily_requests: Mean emails requested per day by the parent.
        suppressions_per_day: Mean new rows per day per suppression list.
        teammates: Teammates besides the owner (admins included).
        pending: Pending teammate invitations.
        history_days: Account age in days at the start clock.
        sizes: Counts of the small collections (templates, lists, IPs, ...).
    """

    slug: str
    name: str
    plan: str
    subusers: int
    daily_requests: int
    suppressions_per_day: dict[str, float]
    teammates: int
    pending: int
    history_days: int
    sizes: dict[str, int] = field(default_factory=dict)


def _supp(bounces: float, blocks: float, spam: float, invalid: float, unsub: float) -> dict:
    return {
        "bounces": bounces,
        "blocks": blocks,
        "spam_reports": spam,
        "invalid_emails": invalid,
        "unsubscribes": unsub,
    }


_SMALL = {
    "categories": 8, "legacy_templates": 2, "dynamic_templates": 4, "singlesends": 7,
    "automations": 3, "lists": 4, "segments": 3, "contacts": 4200, "ips": 2, "pools": 1,
    "domains": 2, "links": 1, "webhooks": 2, "parse": 1, "validation_jobs": 3, "alerts": 2,
    "asm_groups": 3, "decoy_keys": 6,
}  # fmt: skip
_ESSENTIALS = {
    "categories": 3, "legacy_templates": 1, "dynamic_templates": 2, "singlesends": 0,
    "automations": 0, "lists": 0, "segments": 0, "contacts": 0, "ips": 0, "pools": 0,
    "domains": 1, "links": 1, "webhooks": 1, "parse": 0, "validation_jobs": 0, "alerts": 1,
    "asm_groups": 1, "decoy_keys": 3,
}  # fmt: skip
_FREE = {
    "categories": 1, "legacy_templates": 0, "dynamic_templates": 1, "singlesends": 2,
    "automations": 0, "lists": 1, "segments": 0, "contacts": 80, "ips": 0, "pools": 0,
    "domains": 0, "links": 0, "webhooks": 0, "parse": 0, "validation_jobs": 0, "alerts": 0,
    "asm_groups": 0, "decoy_keys": 2,
}  # fmt: skip
_BIG = {
    "categories": 60, "legacy_templates": 12, "dynamic_templates": 230, "singlesends": 120,
    "automations": 30, "lists": 260, "segments": 40, "contacts": 1_250_000, "ips": 24,
    "pools": 4, "domains": 9, "links": 6, "webhooks": 4, "parse": 2, "validation_jobs": 12,
    "alerts": 3, "asm_groups": 8, "decoy_keys": 40,
}  # fmt: skip

PROFILES: dict[str, tuple[Profile, ...]] = {
    "tiny": (
        Profile("acme-retail", "Acme Retail", "pro", 3, 6000, _supp(3, 1.5, 0.3, 0.6, 2), 6, 3,
                520, _SMALL),
        Profile("bluebird-bakery", "Bluebird Bakery", "essentials", 0, 900,
                _supp(0.8, 0.3, 0.05, 0.2, 0.5), 1, 1, 430, _ESSENTIALS),
        Profile("cedar-free", "Cedar Community Club", "free", 0, 25,
                _supp(0.1, 0.02, 0.01, 0.05, 0.05), 1, 1, 410, _FREE),
    ),
    "demo": (
        Profile("acme-retail", "Acme Retail", "pro", 5, 9000, _supp(12, 6, 0.8, 2, 7), 14, 4,
                900, _SMALL),
        Profile("bluebird-bakery", "Bluebird Bakery", "essentials", 0, 2200,
                _supp(3, 1, 0.2, 0.5, 1.5), 1, 2, 640, _ESSENTIALS),
        Profile("cedar-free", "Cedar Community Club", "free", 0, 30,
                _supp(0.1, 0.02, 0.01, 0.05, 0.05), 1, 1, 420, _FREE),
        Profile("dynamo-travel", "Dynamo Travel Group", "premier", 14, 160_000,
                _supp(140, 60, 9, 25, 90), 38, 6, 1500, _BIG),
        Profile("evergreen-health", "Evergreen Health", "pro", 4, 11_000,
                _supp(9, 4, 0.5, 1.5, 5), 9, 2, 700, _SMALL),
        Profile("fjord-software", "Fjord Software", "essentials", 0, 3000,
                _supp(4, 2, 0.3, 0.8, 2), 1, 0, 480, _ESSENTIALS),
    ),
    "large": (
        Profile("titan-mail", "Titan Mail Holdings", "premier", 100, 400_000,
                _supp(4710, 1200, 80, 300, 2000), 120, 10, 1062, _BIG),
    ),
}  # fmt: skip


@dataclass
class Account:
    """A SendGrid user: a tenant's parent account or one of its subusers."""

    tenant_id: str
    username: str
    user_id: int
    email: str
    first_name: str
    last_name: str
    created: dt.date
    daily_requests: int
    is_subuser: bool = False
    disabled: bool = False
    stopped_sending: dt.date | None = None
    region: str = "global"


@dataclass
class OAuthClient:
    """The OAuth client registered for a tenant, plus the login that may authorize it."""

    client_id: str
    client_secret: str
    login: str
    password: str


@dataclass
class Tenant:
    """One organization: plan, parent account, subusers, credentials."""

    tenant_id: str
    index: int
    profile: Profile
    plan: plans.Plan
    parent: Account
    subusers: list[Account]
    oauth: OAuthClient
    full_key: str
    restricted_key: str
    restricted_missing: tuple[str, ...]

    @property
    def features(self) -> frozenset[str]:
        """Licensed feature codes."""
        return self.plan.features


def _person(seed: int, *parts: object) -> tuple[str, str]:
    h = hashing.h64(seed, "person", *parts)
    return FIRST_NAMES[h % len(FIRST_NAMES)], LAST_NAMES[(h >> 16) % len(LAST_NAMES)]


def build_tenants(seed: int, scale: str, anchor: dt.date) -> list[Tenant]:
    """Build every tenant of ``scale`` deterministically.

    Args:
        seed: Dataset seed.
        scale: ``tiny``, ``demo`` or ``large``.
        anchor: Start clock; account ages are measured back from it.

    Returns:
        The tenants in id order.
    """
    if scale not in PROFILES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    return [_build_tenant(seed, i, p, anchor) for i, p in enumerate(PROFILES[scale], start=1)]


def _build_tenant(seed: int, index: int, profile: Profile, anchor: dt.date) -> Tenant:
    tenant_id = f"t{index:02d}-{profile.slug}"
    plan = plans.PLANS[profile.plan]
    first, last = _person(seed, tenant_id, "owner")
    domain = f"{profile.slug}.example.com"
    user_id = 1_000_000 + hashing.h64(seed, tenant_id, "uid") % 8_000_000
    parent = Account(
        tenant_id=tenant_id,
        username=f"{profile.slug.replace('-', '_')}_{hashing.hexid(4, seed, tenant_id)}",
        user_id=user_id,
        email=f"{first}.{last}@{domain}",
        first_name=first.title(),
        last_name=last.title(),
        created=anchor - dt.timedelta(days=profile.history_days),
        daily_requests=profile.daily_requests,
    )
    subusers = [_build_subuser(seed, tenant_id, parent, profile, i, anchor) for i in
                range(profile.subusers)]  # fmt: skip
    full_key, _ = hashing.api_key(seed, tenant_id, "full")
    restricted_key, _ = hashing.api_key(seed, tenant_id, "restricted")
    r = hashing.rng(seed, tenant_id, "restricted-scopes")
    missing = tuple(sorted(r.sample(scopes.RESTRICTABLE, 3)))
    oauth = OAuthClient(
        client_id=f"sgsim-{profile.slug}-{hashing.hexid(8, seed, tenant_id, 'client')}",
        client_secret=hashing.token(24, seed, tenant_id, "client-secret"),
        login=parent.email,
        password=f"pw-{hashing.hexid(12, seed, tenant_id, 'password')}",
    )
    return Tenant(tenant_id, index, profile, plan, parent, subusers, oauth, full_key,
                  restricted_key, missing)  # fmt: skip


def _build_subuser(
    seed: int, tenant_id: str, parent: Account, profile: Profile, i: int, anchor: dt.date
) -> Account:
    first, last = _person(seed, tenant_id, "subuser", i)
    u = hashing.unit(seed, tenant_id, "subuser-state", i)
    # Deterministic mix: #1 disabled, #2 stopped sending 45 days ago, then by draw.
    disabled = i == 1 or (i > 2 and u < 0.12)
    stopped = None
    if i == 2 or (i > 2 and 0.12 <= u < 0.3):
        stopped = anchor - dt.timedelta(days=35 + int(u * 100) % 60)
    if disabled:
        stopped = anchor - dt.timedelta(days=60 + i % 30)
    volume = max(
        50, int(profile.daily_requests * (0.05 + 0.4 * hashing.unit(seed, tenant_id, "vol", i)))
    )
    created = parent.created + dt.timedelta(days=30 + (hashing.h64(seed, tenant_id, i) % 200))
    return Account(
        tenant_id=tenant_id,
        username=f"{profile.slug.split('-')[0]}-{first}{i + 1:02d}",
        user_id=parent.user_id + 100 + i,
        email=f"{first}.{last}+sub{i + 1}@{profile.slug}.example.com",
        first_name=first.title(),
        last_name=last.title(),
        created=min(created, anchor - dt.timedelta(days=400)),
        daily_requests=volume,
        is_subuser=True,
        disabled=disabled,
        stopped_sending=stopped,
    )
