"""SendGrid plan catalogue: account type, credits, seat limits and licensed features."""

from __future__ import annotations

from dataclasses import dataclass

#: Feature codes a plan can license. An endpoint tied to an unlicensed feature answers 403.
MARKETING = "marketing_campaigns"
SUBUSERS = "subusers"
DEDICATED_IPS = "dedicated_ips"
VALIDATION = "email_validation"


@dataclass(frozen=True)
class Plan:
    """A plan tier.

    Attributes:
        name: ``free``, ``essentials``, ``pro`` or ``premier``.
        account_type: Value of ``/v3/user/account`` ``type`` (``free`` or ``paid``).
        credits_total: Email credits per reset period.
        reset_frequency: ``daily`` or ``monthly``.
        teammates_max: Teammates allowed besides the owner.
        subusers_max: Subusers allowed (0 = not licensed).
        event_webhooks_max: ``max_allowed`` of the event webhook list.
        features: Licensed feature codes.
    """

    name: str
    account_type: str
    credits_total: int
    reset_frequency: str
    teammates_max: int
    subusers_max: int
    event_webhooks_max: int
    features: frozenset[str]


PLANS: dict[str, Plan] = {
    "free": Plan("free", "free", 100, "daily", 1, 0, 1, frozenset({MARKETING})),
    "essentials": Plan("essentials", "paid", 100_000, "monthly", 1, 0, 2, frozenset()),
    "pro": Plan(
        "pro",
        "paid",
        300_000,
        "monthly",
        1000,
        15,
        5,
        frozenset({MARKETING, SUBUSERS, DEDICATED_IPS, VALIDATION}),
    ),
    "premier": Plan(
        "premier",
        "paid",
        5_000_000,
        "monthly",
        1000,
        1000,
        10,
        frozenset({MARKETING, SUBUSERS, DEDICATED_IPS, VALIDATION}),
    ),
}
