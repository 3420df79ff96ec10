"""The dashboard in a real headless browser (Debian's chromium driven by playwright).

No console or page error, no network request (the file works offline), every chart laid out
with a non-zero box and something drawn; and at 390, 768, 1,360 and 1,920 px no horizontal
scrolling (page or any scroll box) and chart text rendered at 11 px or more; the alert
banners' text keeps most of the banner's width on a phone. Full-page screenshots are kept in
``test-artifacts/`` (git-ignored) to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sendgrid_dashboard.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAYOUT_WIDTHS,
    check_layout,
    open_dashboard,
)

from .conftest import Rendered
from .layout_checks import assert_fits
from .test_dashboard_page import CHARTS_PER_TENANT

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.usefixtures("chromium")


def test_dashboard_renders_in_headless_chromium(rendered: Rendered) -> None:
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    report = open_dashboard(rendered.path, shot)

    assert report.console_errors == []
    assert report.page_errors == []
    assert report.external_requests == []
    assert report.requests == [rendered.path.resolve().as_uri()]

    with_data = {
        r["tenant_id"] for r in rendered.rows["rpt_sendgrid_utilization_overview"] if r["has_data"]
    }
    assert len(report.charts) == CHARTS_PER_TENANT * len(with_data)
    for chart in report.charts:
        assert chart["width"] > 100, chart
        assert chart["height"] > 50, chart
        assert chart["tenant"] in with_data, chart
    drawn = [c for c in report.charts if c["points"] > 0]
    assert all(c["drawn"] > 0 for c in drawn), [c for c in drawn if not c["drawn"]]
    assert {c["chart"] for c in drawn} == {"period", "gauge", "bar", "line"}
    assert sum(1 for c in drawn if c["tenant"] == "acme_prod") == CHARTS_PER_TENANT

    assert report.page_height > 2000
    assert shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == PNG


def test_layout_fits_phone_tablet_laptop_and_desktop(rendered: Rendered) -> None:
    for old in ARTIFACTS.glob("dashboard-*.png"):
        old.unlink()
    reports = check_layout(rendered.path, ARTIFACTS)

    assert [r.width for r in reports] == list(LAYOUT_WIDTHS) == [390, 768, 1360, 1920]
    for r in reports:
        assert r.client_width == r.width, r
        assert r.scroll_width <= r.client_width, r
        assert r.outside == [], r  # nothing drawn beyond the right edge
        assert r.clipped == [], r  # no box scrolls sideways either
        assert r.chart_texts > 100, r
        assert r.smallest_chart_text_px >= 11, r
        assert r.screenshot.read_bytes()[:8] == PNG
        assert r.screenshot.stat().st_size > 50_000


_ALERT_BOXES = """
() => Array.from(document.querySelectorAll('.alert')).map((alert) => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width}; };
  const hint = alert.querySelector('.reconnect-hint');
  return {alert: alert.dataset.alert, tenant: alert.dataset.tenant, box: box(alert),
    text: box(alert.querySelector('.alert-text')), hint: hint ? box(hint) : null};
})
"""


def _alert_boxes(path: Path, width: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(path.resolve().as_uri(), wait_until="load")
            return page.evaluate(_ALERT_BOXES)
        finally:
            browser.close()


def test_alert_text_keeps_the_banner_width_on_a_phone(rendered: Rendered) -> None:
    """The unconfigured reconnect hint must not squeeze the banner text into a narrow column.

    At 390 px the hint wraps below the text (which once got ~40 px, a syllable a line); at
    1,360 px it stays beside the text.
    """
    phone = _alert_boxes(rendered.path, 390)
    hinted = [a for a in phone if a["hint"]]
    assert {a["alert"] for a in hinted} == {"needs_reconnect"}, phone
    assert len(phone) > len(hinted)  # the banners without a hint are measured too
    for a in phone:
        assert a["text"]["width"] >= 0.6 * a["box"]["width"], a
        if a["hint"]:
            assert a["hint"]["top"] >= a["text"]["bottom"] - 1, a  # below, not beside

    for a in _alert_boxes(rendered.path, 1360):
        if a["hint"]:
            assert a["hint"]["left"] >= a["text"]["right"], a  # beside the text on a desktop
            assert a["text"]["width"] >= 0.5 * a["box"]["width"], a


def test_duplicate_and_subuser_notes_link_to_the_tenant_that_counts_them(
    counted_once: Rendered,
) -> None:
    """Click "Same SendGrid account as Acme Retail" and "A subuser of Acme Retail": each scrolls
    to Acme Retail's section; the page with both notes still fits a phone."""
    from playwright.sync_api import sync_playwright

    path = counted_once.path
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(path.resolve().as_uri(), wait_until="load")
            target = page.locator("section[data-tenant=acme_prod]")
            anchor = f"#{target.get_attribute('id')}"
            for kind, tenant in (
                ("duplicate_account", "globex_eu"),
                ("subuser_account", "xss_tenant"),
            ):
                page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                note = page.locator(f".alert[data-alert={kind}][data-tenant={tenant}]")
                note.get_by_role("link", name="Acme Retail").click()
                page.wait_for_function(f"location.hash === '{anchor}'")
                top = target.evaluate("el => el.getBoundingClientRect().top")
                assert -1 <= top < 50, (kind, top)  # scrolled to it (sub-pixel rounding)
        finally:
            browser.close()
    assert_fits(path, path.parent, (390,))


def test_a_user_sees_which_figures_a_failed_transform_left_behind(left_behind: Rendered) -> None:
    """The header's notice is on screen when the page opens, on a phone and a desktop, and the
    marker of an affected card is visible beside its title; the page still fits a phone."""
    from playwright.sync_api import sync_playwright

    path = left_behind.path
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width in (390, 1360):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(path.resolve().as_uri(), wait_until="load")
                summary = page.locator("[data-alert=not_current]")
                assert summary.is_visible(), width
                box = summary.bounding_box()
                assert box is not None, width
                assert box["y"] + box["height"] <= 900, (width, box)  # on screen at load
                assert box["width"] >= 0.8 * (width - 60), (width, box)
                text = summary.inner_text()
                assert "3 of 15 reports were not rebuilt cleanly" in text, text
                assert "Credits used vs plan, Current period" in text, text
                card = page.locator("section[data-tenant=acme_prod] [data-section=credits]")
                marker = card.locator("[data-card=credits]")
                marker.scroll_into_view_if_needed()
                assert marker.is_visible(), width
                assert "did not rebuild rpt_sendgrid_credit_periods" in marker.inner_text()
                marker_box, card_box = marker.bounding_box(), card.bounding_box()
                assert marker_box is not None, width
                assert card_box is not None, width
                assert marker_box["width"] >= 0.8 * card_box["width"], (marker_box, card_box)
                page.screenshot(path=str(ARTIFACTS / f"dashboard-not-current-{width}.png"))
                page.close()
        finally:
            browser.close()
    assert_fits(path, path.parent, (390,))
