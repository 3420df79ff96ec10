"""Headless Chromium against a real API server + simulator: Connect, break, Reconnect, load.

Debian's chromium (``deploy/ensure_chromium.sh`` installs it); Playwright only
drives it. Screenshots go to ``test-artifacts/connect_page/`` (git-ignored).
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sendgrid_hook.constants import CONNECT_PAGE_PATH

from .conftest import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    account_of,
    admin_browser,
    connection_extra,
    create_tenant_connection,
    new_conn_id,
    sign_in,
    tenant_dimension,
)

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "sendgrid_extract_load.py"
STREAMS = ["user_account"]

pytestmark = pytest.mark.usefixtures("chromium")


def _extract(conn_id: str) -> str:
    """Run the extract DAG for ``conn_id`` (``dag.test``); return the run state."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}, bag.import_errors
    dag = bag.dags["sendgrid_extract_load"]
    started = time.monotonic()
    run = dag.test(run_conf={"tenants": [conn_id], "streams": STREAMS})
    print(f"extract DAG run for {conn_id}: {run.state} in {time.monotonic() - started:.1f}s")
    return str(run.state)


def _staged_rows(warehouse, conn_id: str) -> int:
    import psycopg

    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from sendgrid_staging.user_account where tenant_id = %s", (conn_id,)
        ).fetchone()
    return int(row[0])


def _status(page, conn_id: str) -> str:
    return page.locator(f"#status-{conn_id}").get_attribute("data-status") or ""


def _consent(page, tenant: dict) -> None:
    """Pass the simulator's login and consent pages."""
    page.wait_for_selector("#username")
    page.fill("#username", tenant["oauth"]["login"])
    page.fill("#password", tenant["oauth"]["password"])
    page.click("#login")
    page.wait_for_selector("#approve")
    page.click("#approve")


def test_connect_break_reconnect_in_chromium(api_server, sim, connect_warehouse) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    conn_id = new_conn_id("acme")
    tenant = sim.tenant(0)
    base = api_server.base_url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(30_000)

            # 1. sign in to Airflow (SimpleAuthManager's own login page)
            sign_in(page, base, "/sendgrid/connections")
            page.screenshot(path=str(ARTIFACTS / "01-signed-in.png"), full_page=True)

            # 2. Connect a new tenant (OAuth): provider login + consent, back to the page
            page.fill("#new-conn-id", conn_id)
            page.fill("#new-display-name", tenant["name"])
            page.fill("#new-host", sim.base_url)
            page.fill("#new-client-id", tenant["oauth"]["client_id"])
            page.fill("#new-client-secret", tenant["oauth"]["client_secret"])
            page.click("#connect-new")
            _consent(page, tenant)
            page.wait_for_url("**/sendgrid/connections?flash=**")
            page.screenshot(path=str(ARTIFACTS / "02-connected.png"), full_page=True)
            assert _status(page, conn_id) == "connected"
            assert page.locator(f"#status-{conn_id}").inner_text() == "Connected"
            assert page.locator(f"#connect-{conn_id}").inner_text() == "Reconnect"
            stored = connection_extra(conn_id)["extra"]
            assert stored["refresh_token"] not in page.content()

            # 3. the provider revokes the grant; the next run must mark it "Needs reconnect"
            assert sim.control.revoke_refresh_tokens(tenant["tenant_id"]) >= 1
            assert _extract(conn_id) == "failed"
            page.goto(f"{base}/sendgrid/connections?tenant={conn_id}")
            page.screenshot(path=str(ARTIFACTS / "03-needs-reconnect.png"), full_page=True)
            assert _status(page, conn_id) == "needs_reconnect"
            assert page.locator(f"#status-{conn_id}").inner_text() == "Needs reconnect"
            assert "refresh token" in page.locator(f"#reason-{conn_id}").inner_text().lower()

            # 4. Reconnect: healthy again, and the next run loads data
            page.click(f"#connect-{conn_id}")
            _consent(page, tenant)
            page.wait_for_url("**/sendgrid/connections?flash=**")
            page.screenshot(path=str(ARTIFACTS / "04-reconnected.png"), full_page=True)
            assert _status(page, conn_id) == "connected"
            assert connection_extra(conn_id)["extra"]["refresh_token"] != stored["refresh_token"]
            assert _extract(conn_id) == "success"
            assert _staged_rows(connect_warehouse, conn_id) >= 1
            page.reload()
            assert _status(page, conn_id) == "connected"
            page.screenshot(path=str(ARTIFACTS / "05-loaded.png"), full_page=True)

            # 5. Admin -> SendGrid connections in the Airflow UI opens the page in its own tab
            #    (not in Airflow's sandboxed iframe, where Connect and OAuth cannot navigate)
            page.goto(f"{base}/")
            page.get_by_text("Admin", exact=True).click()
            entry = page.locator("a", has_text="SendGrid connections")
            assert entry.get_attribute("href") == CONNECT_PAGE_PATH
            assert entry.get_attribute("target") == "_blank"
            with page.context.expect_page() as opened:
                entry.click()
            tab = opened.value
            tab.locator(f"#status-{conn_id}").wait_for()
            assert tab.locator(f"#status-{conn_id}").inner_text() == "Connected"
            assert tab.locator("#connect-new").is_visible()
            tab.screenshot(path=str(ARTIFACTS / "06-from-airflow-ui.png"), full_page=True)
        finally:
            browser.close()


GREEN = "rgb(227, 249, 229)"  # the page's .connected / .ok background
BACKGROUND = "el => getComputedStyle(el).backgroundColor"


def test_key_missing_scopes_is_not_green_in_chromium(api_server, sim) -> None:
    """A restricted key: the page shows "Connected, N features unreadable" in yellow, and why."""
    from sendgrid_elt.stream_scopes import scope_requirements

    conn_id = new_conn_id("restricted")
    tenant = sim.tenant(0)
    missing = sorted(tenant["api_keys"]["restricted_missing_scopes"])
    disables = scope_requirements().disables
    unreadable = {stream for scope in missing for stream in disables[scope]}
    with admin_browser(api_server) as page:
        _connect_with_key(page, conn_id, tenant, sim.base_url, tenant["api_keys"]["restricted"])
        page.screenshot(path=str(ARTIFACTS / "07-missing-scopes.png"), full_page=True)

        status = page.locator(f"#status-{conn_id}")
        assert status.inner_text() == f"Connected, {len(unreadable)} features unreadable"
        assert status.evaluate(BACKGROUND) != GREEN
        assert page.locator("#flash").evaluate(BACKGROUND) != GREEN
        items = page.locator(f"#unreadable-{conn_id} li").all_inner_texts()
        assert [item.split(":")[0] for item in items] == missing
        for item, scope in zip(items, missing, strict=True):
            assert item == f"{scope}: {', '.join(sorted(disables[scope]))}"


def test_key_for_a_known_account_warns_and_test_names_it_in_chromium(
    api_server, sim, connect_warehouse
) -> None:
    """An admin pastes a key whose account the reports already hold under another connection:
    the flash is a warning naming that connection; the row's Test names the account. Once the
    reports know the new one too, its row names its account and the connection counted first."""
    tenant = sim.tenant(2)
    key = tenant["api_keys"]["full"]
    me = account_of(sim, key)
    first, conn_id = new_conn_id("first_key"), new_conn_id("second_key")
    account = f"account '{me['username']}', user id {me['user_id']}"
    known = [(first, me["user_id"], me["username"], None, None, False)]
    with tenant_dimension(connect_warehouse, known), admin_browser(api_server) as page:
        _connect_with_key(page, conn_id, tenant, sim.base_url, key)
        page.screenshot(path=str(ARTIFACTS / "08-known-account.png"), full_page=True)
        flash = page.locator("#flash")
        text = flash.inner_text()
        assert f"reaches SendGrid {account}, which {first} already connects" in text, text
        assert flash.evaluate(BACKGROUND) != GREEN

        page.click(f"#test-{conn_id}")
        page.wait_for_url("**/sendgrid/connections?flash=**")
        text = page.locator("#flash").inner_text()
        assert text.startswith(f"Test {conn_id}: Connected to SendGrid as "), text
        assert f"({account})" in text, text
        assert key not in page.content()

    # the next transform finds the second connection: its row names the account and the first
    known.append((conn_id, me["user_id"], me["username"], first, None, False))
    with tenant_dimension(connect_warehouse, known), admin_browser(api_server) as page:
        page.screenshot(path=str(ARTIFACTS / "09-account-named.png"), full_page=True)
        assert page.locator(f"#account-{conn_id}").inner_text() == f"SendGrid {account}"
        note = page.locator(f"#duplicate-{conn_id}")
        assert note.inner_text().startswith(f"Same SendGrid account as {first}, connected first")
        note.get_by_role("link", name=first).click()
        assert page.url.endswith(f"#tenant-{first}")


def _connect_with_key(page, conn_id: str, tenant: dict, host: str, key: str) -> None:
    """Fill the new-connection form with an API key, submit it, wait for the flash."""
    page.fill("#new-conn-id", conn_id)
    page.fill("#new-display-name", tenant["name"])
    page.fill("#new-host", host)
    page.fill("#new-api-key", key)
    page.click("#connect-new")
    page.wait_for_url("**/sendgrid/connections?flash=**")


def test_an_invite_link_works_in_chromium_and_its_token_is_never_sent(api_server, sim) -> None:
    """The admin makes a link; the invitee (another browser, no Airflow account) opens it: the
    page posts the token from the fragment (allowed by its CSP), drops it from the address bar,
    and the invitee approves at SendGrid. No request line in the API server's log holds it."""
    conn_id = new_conn_id("invitee")
    tenant = create_tenant_connection(conn_id, sim, index=2)
    with admin_browser(api_server) as page:
        page.click(f"#invite-{conn_id}")
        link = page.locator("#invite-link").input_value()
        token = link.split("#", 1)[1]
        guest = page.context.browser.new_context().new_page()
        guest.set_default_timeout(30_000)
        blocked: list[str] = []
        guest.on("console", lambda msg: blocked.append(msg.text))
        guest.goto(link)
        guest.wait_for_selector("#invite-continue")
        assert token not in guest.url
        assert guest.locator("#sign-in-host").inner_text() == urlsplit(sim.base_url).netloc
        guest.screenshot(path=str(ARTIFACTS / "10-invite-landing.png"), full_page=True)
        guest.click("#invite-continue")
        _consent(guest, tenant)
        guest.wait_for_selector("text=is connected")
        assert not [m for m in blocked if "Content Security Policy" in m], blocked
    assert connection_extra(conn_id)["extra"]["refresh_token"]
    assert token not in api_server.log_path.read_text(errors="replace")
