"""The parts of the page (cards), the reporting models each reads, and which are not current.

:data:`CARDS` is the one owner of each card's title and of the models its figures come from;
the templates' ``card`` macro takes a card's key and reads its title here. After a transform
run that failed part way (or a partial run that left other models at an earlier as-of),
``sendgrid_build_status`` (dbt's on-run-end macro ``record_build_status``, read by
:func:`sendgrid_dashboard.queries.load_build_status`) says which models are not current:
:func:`not_current` turns its rows into the notices of the page (the header's summary, a
marker on each affected card). dbt decides what is current (``is_current``); nothing here
compares instants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sendgrid_dashboard.queries import REPORTING_MODELS, Row


@dataclass(frozen=True)
class Card:
    """A part of the page: its title and the reporting models its figures are read from."""

    title: str
    models: tuple[str, ...]


#: Each part of the page, by the key its element carries (``data-section``), in page order.
CARDS: dict[str, Card] = {
    "kpis": Card("Headline totals", ("rpt_sendgrid_portfolio",)),
    "portfolio": Card("Portfolio", ("rpt_sendgrid_utilization_overview",)),
    "organization": Card(
        "Organization summary and alerts",
        ("rpt_sendgrid_utilization_overview", "rpt_sendgrid_tenant_health"),
    ),
    "overage": Card("Overage alerts", ("rpt_sendgrid_overage_forecast",)),
    "credits": Card("Credits used vs plan", ("rpt_sendgrid_credit_periods",)),
    "current-period": Card("Current period", ("rpt_sendgrid_credit_periods",)),
    "volume": Card(
        "Monthly volume",
        (
            "rpt_sendgrid_monthly_volume",
            "rpt_sendgrid_utilization_overview",
            "rpt_sendgrid_plan_recommendation",
        ),
    ),
    "seats": Card("Seats by role vs limit", ("rpt_sendgrid_seat_weeks",)),
    "delivery": Card("Delivery rate", ("rpt_sendgrid_deliverability_daily",)),
    "bounce-spam": Card(
        "Bounces and spam reports",
        ("rpt_sendgrid_deliverability_daily", "rpt_sendgrid_utilization_overview"),
    ),
    "features": Card(
        "Feature adoption", ("rpt_sendgrid_features", "rpt_sendgrid_utilization_overview")
    ),
    "recommendation": Card("Plan recommendation", ("rpt_sendgrid_plan_recommendation",)),
    "api-keys": Card(
        "API-key risk", ("rpt_sendgrid_api_key_summary", "rpt_sendgrid_api_keys_flagged")
    ),
    "health": Card("Connection health", ("rpt_sendgrid_tenant_health",)),
    "suppressions": Card("Suppressions", ("rpt_sendgrid_suppressions_monthly",)),
    "seat-activity": Card("Seat activity", ("rpt_sendgrid_seat_activity",)),
    "history": Card("Usage history", ("rpt_sendgrid_usage_history",)),
}

#: What the last run did to a model that is not current, in words (``last_run_status``).
STATUS_WORDS: dict[str, str] = {
    "error": "failed to build",
    "skipped": "was skipped (a model it depends on failed)",
    "tests_failed": "was rebuilt, but its data tests failed",
    # built cleanly by an earlier run, not selected by a later one (a partial `dbt build`)
    "success": "was not among the models it built (a build of some models only)",
}


@dataclass(frozen=True)
class NotCurrent:
    """A reporting model the last transform run did not rebuild cleanly, and its cards."""

    model: str
    status: str
    data_as_of_at: dt.datetime | None
    last_run_as_of_at: dt.datetime | None
    cards: tuple[str, ...]

    @property
    def status_words(self) -> str:
        """What the run did, in words (an unknown status as dbt wrote it)."""
        return STATUS_WORDS.get(self.status, f"ended with status {self.status}")

    @property
    def titles(self) -> list[str]:
        """The titles of the cards showing its rows."""
        return [CARDS[key].title for key in self.cards]


@dataclass(frozen=True)
class Freshness:
    """The page's notices: the models not current, and, per card key, those it shows."""

    not_current: list[NotCurrent]
    by_card: dict[str, list[NotCurrent]]
    last_run_as_of_at: dt.datetime | None
    total: int = len(REPORTING_MODELS)


def not_current(build_status: Mapping[str, Row]) -> Freshness:
    """The reporting models whose ``sendgrid_build_status`` row is not current.

    Args:
        build_status: The table's rows by model name (empty without the table: no notice).

    Returns:
        The notices; ``last_run_as_of_at`` is the latest run's as-of among all rows.
    """
    runs = [r["last_run_as_of_at"] for r in build_status.values() if r["last_run_as_of_at"]]
    newest = max(runs, default=None)
    found = []
    for model in REPORTING_MODELS:
        row = build_status.get(model)
        if row is None or row["is_current"]:
            continue
        cards = tuple(key for key, card in CARDS.items() if model in card.models)
        status = str(row["last_run_status"])
        found.append(
            NotCurrent(
                model=model,
                status=status,
                data_as_of_at=row["data_as_of_at"],
                # built cleanly, but a later run did not select it: that run is the one to name
                last_run_as_of_at=newest if status == "success" else row["last_run_as_of_at"],
                cards=cards,
            )
        )
    by_card = {key: [n for n in found if key in n.cards] for key in CARDS}
    return Freshness(
        not_current=found,
        by_card={key: found_here for key, found_here in by_card.items() if found_here},
        last_run_as_of_at=newest,
    )


__all__ = ["CARDS", "STATUS_WORDS", "Card", "Freshness", "NotCurrent", "not_current"]
