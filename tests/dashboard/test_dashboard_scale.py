"""The page at 1,000 tenants: every tenant in the portfolio table, a bounded number of detailed
sections (those needing attention first, then by the model's display order), a page of a few
MB, and the reconnect alerts collapsed beyond the first few.
"""

from __future__ import annotations

import re

import pytest

from sendgrid_dashboard import render
from sendgrid_dashboard.queries import Dashboard
from sendgrid_dashboard.render import render_dashboard

from .page_reader import PageReader, read_page
from .synthetic import synthetic_dashboard

TENANTS = 1_000
#: The page may not grow past this (all 1,000 sections: about 110 MB).
MAX_PAGE_BYTES = 6_000_000

ATTENTION = {"needs_reconnect", "degraded", "overage", "at_risk"}


@pytest.fixture(scope="module")
def big() -> tuple[Dashboard, str]:
    """1,000 copies of the fixture tenants and their page."""
    dashboard = synthetic_dashboard(TENANTS)
    return dashboard, render_dashboard(dashboard)


@pytest.fixture(scope="module")
def big_page(big: tuple[Dashboard, str]) -> PageReader:
    """The page of :func:`big` read back (once: it takes seconds)."""
    return read_page(big[1])


def test_a_thousand_tenants_make_a_page_of_a_few_mb(big) -> None:
    _, html = big
    assert len(html.encode()) < MAX_PAGE_BYTES, len(html.encode())
    assert html.count("<section ") == render.DETAILED_SECTIONS
    assert html.count("<svg ") <= 7 * render.DETAILED_SECTIONS
    assert html.count("<tr data-tenant=") == TENANTS  # every tenant keeps its portfolio row


def test_sections_go_to_the_tenants_needing_attention_first_in_display_order(
    big, big_page: PageReader
) -> None:
    dashboard, _ = big
    page = big_page
    shown = [s.data("tenant") for s in page.find("section")]
    by_id = {t.tenant_id: t.overview for t in dashboard.tenants}

    def attention(o: dict) -> bool:
        return bool(
            {o["connection_status"], o["utilization_status"]} & ATTENTION
            or o["is_overage_expected"]
        )

    expected = [
        t.tenant_id
        for t in sorted(dashboard.tenants, key=lambda t: t.overview["display_order"])
        if attention(t.overview)
    ][: render.DETAILED_SECTIONS]
    assert shown == expected  # the first ones needing attention, in display order
    assert all(attention(by_id[tid]) for tid in shown)


def test_the_page_says_how_many_tenants_have_no_section_and_where_to_see_them(
    big_page: PageReader,
) -> None:
    page = big_page
    note = page.one(section="sections-note")
    hidden = TENANTS - render.DETAILED_SECTIONS
    assert note.data("without-section") == str(hidden)
    text = " ".join(note.text.split())
    assert f"The other {hidden:,} organizations are in the portfolio table below" in text
    assert "rpt_sendgrid_utilization_overview" in text
    marked = [r for r in page.find("tr") if r.data("tenant") and "no detailed section" in r.text]
    assert len(marked) == hidden
    # no link points at a section that is not on the page
    ids = {el.attrs["id"] for el in page.find() if "id" in el.attrs}
    anchors = [el.attrs["href"][1:] for el in page.find("a") if el.attrs.get("href", "")[:1] == "#"]
    assert anchors
    assert set(anchors) <= ids, sorted(set(anchors) - ids)[:5]


def test_reconnect_alerts_beyond_the_first_few_are_a_count_and_a_compact_list(big) -> None:
    dashboard, html = big
    reconnects = [
        t.tenant_id
        for t in dashboard.tenants
        if t.overview["connection_status"] == "needs_reconnect"
    ]
    assert len(reconnects) > 100
    top = html[: html.index('data-section="portfolio"')]
    full = re.findall(
        r'<div class="alert bad" data-tenant="([^"]+)" data-alert="needs_reconnect"', top
    )
    assert len(full) <= 10, len(full)  # a few in full, not one banner per tenant
    assert full == reconnects[: render.ALERTS_SHOWN]
    page = read_page(top)
    more = page.one(alert="needs_reconnect_more")
    assert more.data("count") == str(len(reconnects) - render.ALERTS_SHOWN)
    assert f"{len(reconnects) - render.ALERTS_SHOWN} more organizations need to be reconnected" in (
        " ".join(more.text.split())
    )
    assert [li.data("tenant") for li in more.find("li")] == reconnects[render.ALERTS_SHOWN :]
    assert len(top.encode()) < 100_000, len(top.encode())
