"""The Python oracle of the plan recommendation (``tests.marts_math``) on the cases the
simulator's tenants never reach: a tie of expected cost, and Premier without a price.

test_dbt_build and the end-to-end truth test recompute every recommendation with
``recommended_plan``; their tenants (Free, Essentials, Pro at list prices) never tie and are
never on Premier, so these rules of ``int_sendgrid__plan_costs`` are checked here on the
figures of its dbt unit tests (``dbt_project/models/marts/_sendgrid__unit_tests.yml``), which
check the SQL on the same cases.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.marts_math import expected_monthly_cost, recommended_plan


def _plan(code: str, rank: int, emails: int | None, price: str | None, rate: str | None) -> dict:
    return {
        "plan_code": code,
        "tier_rank": rank,
        "monthly_emails": emails,
        "monthly_price_usd": None if price is None else Decimal(price),
        "overage_usd_per_1k": None if rate is None else Decimal(rate),
    }


#: The unit tests' ``overage_catalog`` and the two large Pro tiers.
CATALOG = {
    p["plan_code"]: p
    for p in (
        _plan("free", 0, 3000, "0.00", None),
        _plan("essentials_50k", 1, 50_000, "19.95", "1.33"),
        _plan("essentials_100k", 2, 100_000, "34.95", "1.00"),
        _plan("pro_100k", 3, 100_000, "89.95", "0.85"),
        _plan("pro_300k", 4, 300_000, "249.00", "0.75"),
        _plan("pro_1500k", 6, 1_500_000, "799.00", "0.55"),
        _plan("pro_2500k", 7, 2_500_000, "1249.00", "0.50"),
        _plan("premier", 8, None, None, None),
    )
}


def _fits(*codes: str) -> list[dict]:
    return [CATALOG[c] for c in codes]


#: (case, plans that hold the tenant, p95, required, current plan, its price, expected pick)
CASES = [
    # test_an_equal_cost_keeps_the_current_plan: Pro 100K at a $19.95 contract ties with
    # Essentials 50K (covering, lower tier) at $19.95: the current plan wins
    ("tie_keeps_current", _fits("essentials_50k", "essentials_100k", "pro_100k", "pro_300k"),
     30_000, 36_000, "pro_100k", Decimal("19.95"), "pro_100k"),
    # test_a_tie_at_list_prices_keeps_the_current_plan: 61,278 a month costs $34.95 on
    # Essentials 50K ($19.95 + $15.00 of overage) and on Essentials 100K (covering): the
    # current plan wins the tie; when neither is current, the covering one does
    ("tie_keeps_current_paying", _fits("essentials_50k", "essentials_100k", "pro_100k"),
     61_278, 73_534, "essentials_50k", Decimal("19.95"), "essentials_50k"),
    ("tie_goes_to_the_cover", _fits("essentials_50k", "essentials_100k", "pro_100k"),
     61_278, 73_534, "pro_300k", Decimal("249.00"), "essentials_100k"),
    # test_overage_is_weighed_only_against_a_priced_plan: only Premier (no price) covers, so
    # no plan paying overage can be shown cheaper: Premier
    ("premier_10m", _fits("pro_1500k", "pro_2500k", "premier"),
     10_000_000, 12_000_000, "premier", None, "premier"),
    ("on_pro_2500k", _fits("pro_1500k", "pro_2500k", "premier"),
     2_600_000, 3_120_000, "pro_2500k", Decimal("1249.00"), "premier"),
    ("premier_quoted", _fits("pro_1500k", "pro_2500k", "premier"),
     10_000_000, 12_000_000, "premier", Decimal("6000.00"), "pro_2500k"),
    # test_unpriced_premier_fitting_a_priced_plan_is_sized: Pro 300K covers at a known price,
    # so Pro 100K paying $85.00 of overage is weighed against it and wins
    ("premier_small", _fits("pro_100k", "pro_300k", "premier"),
     200_000, 240_000, "premier", None, "pro_100k"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fits", "p95", "required", "current", "price", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_oracle_follows_the_tie_and_unpriced_premier_rules(
    fits: list[dict], p95: int, required: int, current: str, price: Decimal | None, expected: str
) -> None:
    assert recommended_plan(fits, p95, required, current, price)["plan_code"] == expected


def test_the_ties_are_ties_and_premier_small_pays_overage() -> None:
    """The cases above are what they claim: equal expected costs, and the overage priced."""
    tie = [expected_monthly_cost(CATALOG[c], 30_000, "pro_100k", Decimal("19.95"))
           for c in ("essentials_50k", "pro_100k")]  # fmt: skip
    assert tie == [(Decimal("19.95"), Decimal("0.00"))] * 2
    costs = [sum(expected_monthly_cost(CATALOG[c], 61_278, "essentials_50k", Decimal("19.95")))
             for c in ("essentials_50k", "essentials_100k")]  # fmt: skip
    assert costs == [Decimal("34.95"), Decimal("34.95")]
    assert expected_monthly_cost(CATALOG["pro_100k"], 200_000, "premier", None) == (
        Decimal("89.95"), Decimal("85.00"))  # fmt: skip
    assert expected_monthly_cost(CATALOG["premier"], 200_000, "premier", None) == (
        None, Decimal("0.00"))  # fmt: skip
