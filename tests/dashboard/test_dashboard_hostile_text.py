"""Hostile names on the dashboard, in headless chromium: bidi overrides and very long names.

Names come from connection descriptions and from the SendGrid account (subuser usernames, API
key names): free text of whoever runs the account. A right-to-left override (U+202E) in a name
quoted inside a sentence reversed the rest of the sentence on screen ("... (connection globex_eu,
connected first)" read backwards); a 300-character name without a space must not push the page
sideways on a phone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sendgrid_dashboard.browser import CHROMIUM, CHROMIUM_ARGS
from tests.bidi_order import IN_ORDER

from .conftest import Rendered, _render
from .layout_checks import assert_fits
from .marts_fixture import load_marts

pytestmark = pytest.mark.usefixtures("chromium")
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE, never closed
LONG = "x" * 300
SUBUSER = f"<i>sub{RLO}one</i> & co"


@pytest.fixture(scope="module")
def hostile(marts_database: str, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The fixture marts with ``globex_eu`` a duplicate of ``acme_prod``, whose name holds an
    unclosed RLO, every deliverability row a subuser's named so, and long unbroken names."""
    import psycopg

    from sendgrid_elt.settings import MARTS_SCHEMA as S

    rows = load_marts(marts_database, duplicates={"globex_eu": "acme_prod"})
    with psycopg.connect(marts_database, autocommit=True) as conn:
        conn.execute(
            f"update {S}.rpt_sendgrid_utilization_overview set duplicate_of_display_name = %s "  # noqa: S608
            "where tenant_id = 'globex_eu'",
            (f"Acme {RLO}Prod",),
        )
        conn.execute(
            f"update {S}.rpt_sendgrid_deliverability_daily set sender_type = 'subuser', "  # noqa: S608
            "subuser_username = %s",
            (SUBUSER,),
        )
        conn.execute(
            f"update {S}.rpt_sendgrid_utilization_overview set display_name = %s, "  # noqa: S608
            "plan_name = %s where tenant_id = 'initech'",
            (f"Initech {LONG}", f"Plan{LONG}"),
        )
        conn.execute(f"update {S}.rpt_sendgrid_api_keys_flagged set api_key_name = %s, "  # noqa: S608
                     "subuser_username = %s", (f"key{LONG}", f"sub{LONG}"))  # fmt: skip
        conn.execute(f"update {S}.rpt_sendgrid_tenant_health set last_error = %s",  # noqa: S608
                     (f"err{LONG}",))  # fmt: skip
    out = tmp_path_factory.mktemp("hostile") / "dashboard.html"
    return _render(marts_database, rows, out)


def test_a_bidi_override_in_a_name_does_not_reverse_the_rest_of_its_sentence(
    hostile: Rendered,
) -> None:
    from playwright.sync_api import sync_playwright

    checks = [
        ('[data-tenant="globex_eu"][data-alert="duplicate_account"]', "connection"),
        ('[data-tenant="acme_prod"] [data-section="delivery"] .sub', "gaps are"),
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(hostile.path.resolve().as_uri(), wait_until="load")
            in_order: list[Any] = page.evaluate(IN_ORDER, checks)
        finally:
            browser.close()
    assert in_order == [True] * len(checks), list(zip(checks, in_order, strict=True))
    assert f"Acme {RLO}Prod" in hostile.html  # the name itself is shown, not altered
    # still escaped where it joins the card's sentence
    assert f"Daily, subuser <bdi>&lt;i&gt;sub{RLO}one&lt;/i&gt; &amp; co</bdi> (busiest" in (
        hostile.html
    )
    assert "<i>sub" not in hostile.html


def test_long_unbroken_names_keep_the_page_within_the_viewport(
    hostile: Rendered, tmp_path: Path
) -> None:
    assert f"key{LONG}" in hostile.html
    assert f"Initech {LONG}" in hostile.html
    assert_fits(hostile.path, tmp_path, (390, 1360))


def test_no_script_runs_in_the_page_even_from_a_javascript_link(
    hostile: Rendered, tmp_path: Path
) -> None:
    """The page needs no script, and its policy says so: a ``javascript:`` URL given as the
    Airflow base URL (a pasted bookmarklet, an environment variable set wrong) made every
    "Reconnect" button run it in the analyst's browser. The base URL is now refused where it
    is resolved (tests/hook/test_base_url_refused.py); the policy still blocks a link that
    reaches the page another way: here written into the rendered page's Reconnect buttons."""
    import psycopg
    from playwright.sync_api import sync_playwright

    from sendgrid_dashboard.queries import load_dashboard
    from sendgrid_dashboard.render import render_dashboard

    base, bookmarklet = "https://airflow.example.com", "javascript:void(document.title='pwned');//x"
    with psycopg.connect(hostile.conninfo) as conn:
        dashboard = load_dashboard(conn)
    page_html = render_dashboard(dashboard, connect_base_url=base)
    assert f'class="button" href="{base}/' in page_html  # the buttons the link is put into
    path = tmp_path / "js.html"
    path.write_text(page_html.replace(f'href="{base}/', f'href="{bookmarklet}/'))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.evaluate("document.addEventListener('securitypolicyviolation', "
                          "(e) => { window.blocked = e.effectiveDirective; })")  # fmt: skip
            page.locator('a.button[href^="javascript:"]').first.click()
            page.wait_for_function("document.title === 'pwned' || window.blocked")
            title, blocked = page.title(), page.evaluate("window.blocked")
        finally:
            browser.close()
    assert title == "SendGrid utilization dashboard"
    assert blocked == "script-src-elem"
