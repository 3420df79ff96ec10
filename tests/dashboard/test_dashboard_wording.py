"""Words that agree with their counts on the dashboard (rendered without a database)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from sendgrid_dashboard.render import _env


def _unknown_activity_text(kind: str, unknown: int) -> str:
    row = {
        "seat_kind": kind,
        "seats_total": 3,
        "seats_enabled": 3,
        "seats_active_30d": None,
        "seats_active_60d": None,
        "seats_active_90d": None,
        "seats_inactive_90d": None,
        "seats_activity_unknown": unknown,
    }
    html = _env.get_template("seat_activity_card.html.j2").render(
        t=SimpleNamespace(seat_activity=[row]), tid="acme"
    )
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    return text[text.index("Seats") :]


@pytest.mark.parametrize(
    ("kind", "count", "words"),
    [
        ("teammate", 1, "1 teammate of unknown activity"),
        ("teammate", 2, "2 teammates of unknown activity"),
        ("subuser", 1, "1 subuser of unknown activity"),
        ("subuser", 5, "5 subusers of unknown activity"),
    ],
)
def test_seats_of_unknown_activity_agree_with_their_count(
    kind: str, count: int, words: str
) -> None:
    """The card said "1 teammates of unknown activity"."""
    assert words in _unknown_activity_text(kind, count)


def _header_text(**figures: object) -> str:
    from collections import defaultdict

    p: defaultdict[str, object] = defaultdict(lambda: None, figures)
    html = _env.get_template("header.html.j2").render(p=p, generated_at=None)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_plan_changes_of_unknown_amount_are_counted_beside_the_known_sum() -> None:
    """The portfolio sums the known savings and counts the unknown ones (dbt's
    ``downgrade_savings_unknown_count``): the header says both, so a partial sum never reads
    as the whole. It showed the partial sum alone."""
    text = _header_text(
        downgrade_count=3, downgrade_savings_usd=40, downgrade_savings_unknown_count=1,
        upgrade_count=2, upgrade_cost_usd=None, upgrade_cost_unknown_count=2,
        net_plan_change_usd=-40,
    )  # fmt: skip
    assert "3 downgrades saving $40.00 (+ 1 of unknown saving)" in text, text
    assert "2 upgrades costing an unknown amount (+ 2 of unknown cost)" in text, text
    known = _header_text(downgrade_count=1, downgrade_savings_usd=5,
                         downgrade_savings_unknown_count=0)  # fmt: skip
    assert "saving $5.00 ·" in known, known


def test_tenants_of_unknown_credits_are_named_beside_over_plan_and_at_risk() -> None:
    """A portfolio whose credits could not be read read "0 over plan · 0 at risk · projected
    overage $0.00": risk-free. dbt's ``credits_unknown_count`` now stands beside those counts."""
    text = _header_text(credits_overage_count=0, credits_at_risk_count=0,
                        credits_unknown_count=2, projected_overage_cost_usd=0)  # fmt: skip
    assert "0 at risk · 2 of unknown credits · projected overage" in text, text
    known = _header_text(credits_overage_count=1, credits_at_risk_count=0,
                         credits_unknown_count=0)  # fmt: skip
    assert "unknown credits" not in known, known


def test_features_licensed_but_unused_are_not_called_paid() -> None:
    """A feature is ``unused_paid`` when its evidence stream is readable (the plan gives
    access), which a Free plan does too: the words say licensed, not paid."""
    assert "4 licensed, unused" in _header_text(features_unused_paid=4)
    card = _env.get_template("features_card.html.j2").render(
        t=SimpleNamespace(features=[]), tid="acme",
        o={"features_used": 1, "features_licensed": 5, "features_unused_paid": 4,
           "features_not_licensed": 0, "features_unknown": 0},
    )  # fmt: skip
    assert "licensed, unused" in card.lower()
    assert "paid" not in re.sub(r"<[^>]+>", "", card).lower().replace("unused_paid", "")
