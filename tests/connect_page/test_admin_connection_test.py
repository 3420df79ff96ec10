"""Admin -> Connections -> Test for a ``sendgrid`` connection, as a user clicks it and over REST.

Airflow's UI posts the list row of the connection to ``POST /api/v2/connections/test``: the
password as the masked sentinel ``***`` (meaning "use the stored one") and the hidden, unset port
as ``0`` (``Number(null)``). The API server refuses stored credentials when host or port differ
from the stored connection, so before the fix every SendGrid Test answered "Bad Request".
"""

from __future__ import annotations

import json

import pytest
import requests

from .conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, new_conn_id, sign_in

TEST_PATH = "/api/v2/connections/test"
SUCCESS_TITLE = "Test Connection Successful"
FAILED_TITLE = "Test Connection Failed"


def _toast(page, title: str, must_contain: str) -> str:
    """Wait for the toast titled ``title`` whose text has ``must_contain``; return its text."""
    toast = page.locator("[data-scope=toast][data-part=root]").filter(has_text=title)
    toast = toast.filter(has_text=must_contain).last
    toast.wait_for(timeout=60_000)
    return toast.inner_text()


def _keep_test_body(request, bodies: list[dict]) -> None:
    if request.url.endswith(TEST_PATH):
        bodies.append(json.loads(request.post_data or "{}"))


def _click_test(page, conn_id: str, bodies: list[dict]) -> dict:
    """Click the row's Test button; return the JSON body the UI posted."""
    before = len(bodies)
    row = page.get_by_role("row").filter(has_text=conn_id)
    with page.expect_response(lambda r: r.url.endswith(TEST_PATH)):
        row.get_by_role("button", name="Test Connection").click()
    assert len(bodies) == before + 1
    return bodies[-1]


def _fill_and_save(page, fields: dict[str, str]) -> None:
    dialog = page.get_by_role("dialog")
    for label, value in fields.items():
        dialog.get_by_label(label, exact=True).fill(value)
    with page.expect_response(lambda r: "/api/v2/connections" in r.url and r.ok):
        dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="hidden")


@pytest.mark.usefixtures("chromium")
def test_test_button_in_admin_connections(api_server, sim) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    conn_id = new_conn_id("sg_admin_ui")
    keys = sim.tenant(0)["api_keys"]
    bodies: list[dict] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(30_000)
            page.on("request", lambda r: _keep_test_body(r, bodies))
            sign_in(page, api_server.base_url, "/connections")

            # 1. Add Connection: type SendGrid, base URL override = simulator, the full key
            page.get_by_role("button", name="Add Connection").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_label("Connection ID").fill(conn_id)
            dialog.get_by_role("combobox").fill("SendGrid")
            page.get_by_role("option", name="SendGrid", exact=True).click()
            _fill_and_save(page, {"Base URL override": sim.base_url, "API key": keys["full"]})
            page.get_by_role("row").filter(has_text=conn_id).wait_for()

            # 2. Test with the stored full key: success, and the UI never re-sent the key
            body = _click_test(page, conn_id, bodies)
            assert body["password"] == "***", "the UI is expected to post the masked password"
            text = _toast(page, SUCCESS_TITLE, "required scopes present")
            page.screenshot(path=str(ARTIFACTS / "admin-01-test-ok.png"), full_page=True)
            assert "Connected to SendGrid" in text

            # 3. Edit: the restricted key (lacks 3 required scopes); Test names what is missing
            row = page.get_by_role("row").filter(has_text=conn_id)
            row.get_by_role("button", name="Edit Connection").click()
            _fill_and_save(page, {"API key": keys["restricted"]})
            _click_test(page, conn_id, bodies)
            text = _toast(page, FAILED_TITLE, "missing 3 required scopes")
            page.screenshot(path=str(ARTIFACTS / "admin-02-test-scopes.png"), full_page=True)
            for scope in keys["restricted_missing_scopes"]:
                assert scope in text
            assert "global_stats" in text, "the message says what each missing scope disables"
            content = page.content()
            assert keys["full"] not in content
            assert keys["restricted"] not in content
        finally:
            browser.close()
    posted = [{k: b.get(k) for k in ("port", "password")} for b in bodies]
    print("UI test-connection bodies (port, password):", posted)


# -- the same through the REST API ----------------------------------------------------------
def _store(conn_id: str, sim, key: str | None, display_name: str, **extra_fields) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    extra = {"auth_type": "api_key", "display_name": display_name, **extra_fields}
    with create_session() as session:
        session.add(Connection(conn_id=conn_id, conn_type="sendgrid", host=sim.base_url,
                               password=key, extra=json.dumps(extra)))  # fmt: skip


def _ui_body(api_server, headers: dict, conn_id: str) -> dict:
    """The body Airflow's UI posts for a listed connection (its TestConnectionButton)."""
    row = requests.get(f"{api_server.base_url}/api/v2/connections/{conn_id}", headers=headers,
                       timeout=30).json()  # fmt: skip
    return {
        "conn_type": row["conn_type"],
        "connection_id": row["connection_id"],
        "description": row["description"] or "",
        "extra": row["extra"] or "{}",
        "host": row["host"] or "",
        "login": row["login"] or "",
        "password": row["password"] or "",
        "port": int(row["port"] or 0),  # Number(null) == 0 in the UI
        "schema": row["schema"] or "",
    }


def _test(api_server, headers: dict, body: dict) -> requests.Response:
    return requests.post(f"{api_server.base_url}{TEST_PATH}", json=body, headers=headers,
                         timeout=120)  # fmt: skip


def test_rest_connection_test_with_stored_credentials(api_server, sim) -> None:
    tenant = sim.tenant(0)
    keys = tenant["api_keys"]
    headers = {"Authorization": f"Bearer {api_server.token('admin')}"}
    ok_id, scopes_id = new_conn_id("sg_rest_ok"), new_conn_id("sg_rest_scopes")
    _store(ok_id, sim, keys["full"], tenant["name"])
    _store(scopes_id, sim, keys["restricted"], tenant["name"])

    body = _ui_body(api_server, headers, ok_id)
    assert body["password"] == "***"
    assert body["port"] == 0
    r = _test(api_server, headers, body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] is True, r.json()
    assert r.json()["message"].startswith(f"Connected to SendGrid as '{tenant['name']}'")
    # a client that leaves the hidden fields out entirely gets the same answer
    r = _test(api_server, headers, {"connection_id": ok_id, "conn_type": "sendgrid"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] is True, r.text

    r = _test(api_server, headers, _ui_body(api_server, headers, scopes_id))
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] is False
    assert "missing 3 required scopes" in result["message"]
    for scope in keys["restricted_missing_scopes"]:
        assert scope in result["message"]
    for key in (keys["full"], keys["restricted"]):
        assert key not in r.text


def test_rest_stored_key_is_never_sent_elsewhere(api_server, sim) -> None:
    """The fix keeps Airflow's guard: stored credentials only go to the stored endpoint."""
    tenant = sim.tenant(0)
    headers = {"Authorization": f"Bearer {api_server.token('admin')}"}
    conn_id = new_conn_id("sg_rest_guard")
    _store(conn_id, sim, tenant["api_keys"]["full"], tenant["name"])

    body = _ui_body(api_server, headers, conn_id)
    r = _test(api_server, headers, {**body, "host": "http://127.0.0.1:9"})
    assert r.status_code == 400, r.text
    assert "differs from the stored connection" in r.text
    r = _test(api_server, headers, {**body, "port": 8443})
    assert r.status_code == 400, r.text


def _store_oauth(conn_id: str, sim) -> str:
    """Store an OAuth connection of simulator tenant 0 whose refresh token must never be used."""
    tenant = sim.tenant(0)
    _store(conn_id, sim, None, tenant["name"], auth_type="oauth2",
           client_id=tenant["oauth"]["client_id"], client_secret=tenant["oauth"]["client_secret"],
           refresh_token="rt-never-presented")  # fmt: skip
    return conn_id


def test_rest_oauth_connection_is_not_refreshed_on_a_copy(api_server, sim) -> None:
    """Airflow tests a copy under a random id: refreshing there would lose the rotated token."""
    headers = {"Authorization": f"Bearer {api_server.token('admin')}"}
    conn_id = _store_oauth(new_conn_id("sg_rest_oauth"), sim)

    r = _test(api_server, headers, _ui_body(api_server, headers, conn_id))
    assert r.status_code == 200, r.text
    assert r.json()["status"] is False
    message = r.json()["message"]
    assert message.startswith("Not tested here: this is an OAuth connection"), message
    assert "Admin -> SendGrid connections" in message
    assert "rt-never-presented" not in r.text


def test_rest_an_oversized_test_body_is_refused_not_passed_on(api_server, sim) -> None:
    """A body past the middleware's read limit cannot slip by unmarked: an OAuth copy with the
    stored secrets (``***``) and a token URL of the caller's would otherwise be refreshed."""
    from sendgrid_connect.connection_test import MAX_BODY

    headers = {"Authorization": f"Bearer {api_server.token('admin')}"}
    conn_id = _store_oauth(new_conn_id("sg_rest_big"), sim)
    body = _ui_body(api_server, headers, conn_id)
    extra = {"auth_type": "oauth2", "token_url": "http://127.0.0.1:9/token",
             "client_secret": "***", "refresh_token": "***"}  # fmt: skip
    padded = json.dumps({**body, "extra": json.dumps(extra)}) + " " * (2 * MAX_BODY)
    r = requests.post(f"{api_server.base_url}{TEST_PATH}", data=padded, timeout=60,
                      headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413, r.text
    assert "rt-never-presented" not in r.text
    # a body under the limit is still tested (and marked: not refreshed on the copy)
    r = _test(api_server, headers, body)
    assert r.status_code == 200, r.text
    assert r.json()["message"].startswith("Not tested here: this is an OAuth connection")


def test_only_the_unset_port_of_a_sendgrid_body_is_dropped() -> None:
    from sendgrid_connect.connection_test import normalize_test_body
    from sendgrid_hook.constants import TEST_COPY_EXTRA

    def norm(body: object) -> object:
        return json.loads(normalize_test_body(json.dumps(body).encode()))

    base = {"connection_id": "c", "conn_type": "sendgrid", "host": "h", "password": "***"}
    marked = {**base, "extra": json.dumps({TEST_COPY_EXTRA: True})}
    for unset in (0, None, ""):
        assert norm({**base, "port": unset}) == marked
    for port in (8443, False):
        assert norm({**base, "port": port}) == {**marked, "port": port}
    extra = json.dumps({"auth_type": "oauth2"})
    assert json.loads(norm({**base, "extra": extra})["extra"]) == {
        "auth_type": "oauth2",
        TEST_COPY_EXTRA: True,
    }
    for kept in ({**base, "conn_type": "http", "port": 0}, [1, 2], {**base, "extra": "[1]"}):
        assert norm(kept) == kept
    assert normalize_test_body(b"not json") == b"not json"
