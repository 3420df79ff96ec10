"""Charts of unknown figures and of partial days: null is unknown (never "nothing"), a day read
only in part is marked, and a rate above 100 % stays on the scale.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sendgrid_dashboard.queries import TenantView
from sendgrid_dashboard.render import render_dashboard
from sendgrid_dashboard.tenant_charts import (
    bounce_spam_chart,
    delivery_chart,
    seats_chart,
    suppressions_chart,
    volume_chart,
)

from .conftest import GENERATED_AT
from .page_reader import read_page
from .synthetic import fixture_views

OVERVIEW = {"tenant_id": "t", "display_name": "T", "requests_30d": 10}
MONTHS = (dt.date(2026, 10, 1), dt.date(2026, 11, 1))
KINDS = ("bounce", "block", "spam_report", "invalid_email", "unsubscribe")


def _suppressions(value: int | None) -> list[dict]:
    return [
        {"suppression_month": m, "suppression_kind": k, "new_suppressions": value}
        for m in MONTHS
        for k in KINDS
    ]


def _seats(admins: int | None, teammates: int | None) -> list[dict]:
    return [
        {
            "seat_date": dt.date(2026, 11, 28) - dt.timedelta(days=7 * w),
            "admin_count": admins,
            "teammate_count": teammates,
            "seats_used": None if admins is None else admins + (teammates or 0),
            "seat_limit": 5,
            "is_latest_day": w == 0,
        }
        for w in (2, 1, 0)
    ]


def _empty_text(svg: str) -> str | None:
    found = re.search(r'<text class="empty"[^>]*>([^<]*)</text>', svg)
    return found.group(1) if found else None


def test_unknown_suppressions_say_unknown_not_none() -> None:
    """Counts null (the key cannot read the lists): "unknown", never "No suppressions"; no row
    at all (the model has rows from a tenant's first entry, none when never read) does not
    claim none either; counts known to be 0 keep "No suppressions"."""
    unknown = suppressions_chart(TenantView(OVERVIEW, suppressions=_suppressions(None)))
    no_rows = suppressions_chart(TenantView(OVERVIEW))
    zero = suppressions_chart(TenantView(OVERVIEW, suppressions=_suppressions(0)))
    assert _empty_text(unknown) == "Suppressions unknown: lists not readable"
    assert _empty_text(no_rows) == "No entry read (none, or lists unreadable)"
    assert _empty_text(zero) == "No suppressions"


def test_unknown_seats_say_unknown_not_no_teammates() -> None:
    """Admin and teammate counts null (teammates not readable), or no seat row at all (a
    readable seat stream always has the as-of day's row): the chart says the seats are
    unknown; counts known to be 0 keep "No teammates seen yet"."""
    unknown = seats_chart(TenantView(OVERVIEW, seat_weeks=_seats(None, None)))
    no_rows = seats_chart(TenantView(OVERVIEW))
    zero = seats_chart(TenantView(OVERVIEW, seat_weeks=_seats(0, 0)))
    assert _empty_text(unknown) == "Seats unknown: teammates not readable"
    assert _empty_text(no_rows) == "Seats unknown: teammates not readable"
    assert _empty_text(zero) == "No teammates seen yet"


def test_months_of_unknown_volume_say_unknown_not_no_activity() -> None:
    """Monthly volume rows whose requests are null: "Volume unknown", not "No email activity"."""
    months = [
        {"activity_month": m, "is_month_to_date": False, "parent_requests": None,
         "subuser_requests": None}
        for m in MONTHS
    ]  # fmt: skip
    svg = volume_chart(TenantView(OVERVIEW, volume=months))
    assert _empty_text(svg) == "Volume unknown: stats not readable"


def _days(*rates: tuple[str, bool]) -> list[dict]:
    return [
        {
            "activity_date": dt.date(2026, 11, 20 + i),
            "delivery_rate": Decimal(rate),
            "bounce_rate": Decimal("0.01"),
            "spam_report_rate": Decimal("0.001"),
            "is_complete_day": complete,
        }
        for i, (rate, complete) in enumerate(rates)
    ]


def test_a_day_read_in_part_is_a_hollow_point_out_of_the_line() -> None:
    """``is_complete_day`` false: the day's points are marked (``data-partial``, hollow, a
    legend entry and a tooltip note) and left out of the lines, in both daily charts."""
    t = TenantView(OVERVIEW, deliverability=_days(("0.98", True), ("0.97", True), ("0.4", False)))
    for svg in (delivery_chart(t), bounce_spam_chart(t)):
        page = read_page(svg)
        partial = page.find("circle", partial="true")
        assert partial, svg
        assert {p.data("label") for p in partial} == {"2026-11-22"}
        assert all("pt partial" in p.attrs["class"] and p.attrs["fill"] == "#fff" for p in partial)
        assert all(p.text.endswith("(day read in part)") for p in partial)
        assert "day read in part" in "".join(page.texts)  # the legend
        for line in page.find("polyline"):
            assert len(line.attrs["points"].split()) == 2, line.attrs  # the two whole days
    whole = delivery_chart(TenantView(OVERVIEW, deliverability=_days(("0.98", True))))
    assert 'data-partial="true"' not in whole
    assert "day read in part" not in whole


def test_a_delivery_rate_above_100_percent_is_on_the_scale() -> None:
    """The model's delivery rate can exceed 1 (deferred mail delivered the next day): the axis
    extends to it instead of drawing the point at 100 % with a 130 % tooltip."""
    t = TenantView(OVERVIEW, deliverability=_days(("0.95", True), ("1.3", True), ("0.97", True)))
    svg = delivery_chart(t)
    ticks = [int(v) for v in re.findall(r">(\d+)%<", svg)]
    assert max(ticks) >= 130, ticks
    page = read_page(svg)
    (high,) = page.find("circle", value="1.3")
    (low,) = page.find("circle", value="0.95")
    top = min(float(line.attrs["y1"]) for line in page.find("line"))
    assert top < float(high.attrs["cy"]) < float(low.attrs["cy"])


def test_the_delivery_card_says_which_days_were_read_in_part() -> None:
    """On the page, the delivery and bounce cards say how many days are hollow, and why."""
    views = fixture_views()
    acme = views["acme_prod"]
    days = [dict(r) for r in acme.deliverability]
    days[-1]["is_complete_day"] = False
    tenants = [TenantView(acme.overview, deliverability=days)]
    from sendgrid_dashboard.queries import Dashboard

    html = render_dashboard(Dashboard(None, tenants, GENERATED_AT))
    page = read_page(html)
    for section in ("delivery", "bounce-spam"):
        card = page.one(section=section)
        assert "Hollow points: 1 day read only in part (left out of the lines)." in card.text
    assert "Hollow points" not in render_dashboard(
        Dashboard(
            None, [TenantView(acme.overview, deliverability=acme.deliverability)], GENERATED_AT
        )
    )
