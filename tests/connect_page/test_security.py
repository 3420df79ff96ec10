"""Security of the Connect page, over HTTP against the real API server and the simulator.

State and code replays; authentication (401) and authorization (403); CSRF; open redirects;
no secret in any page. Invite links: ``test_invite_links``; the access log: ``test_access_log``.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sendgrid_connect import signing

from .conftest import (
    connection_extra,
    create_tenant_connection,
    csrf_of,
    new_conn_id,
    status_of,
)


def _page(session: requests.Session, api_server) -> str:
    r = session.get(f"{api_server.base_url}/sendgrid/connections", timeout=30)
    assert r.status_code == 200, r.text[:500]
    return r.text


def _start(session, api_server, conn_id: str, **form) -> requests.Response:
    csrf = csrf_of(_page(session, api_server))
    return session.post(
        f"{api_server.base_url}/sendgrid/connections/{conn_id}/connect",
        data={"csrf": csrf, **form},
        allow_redirects=False,
        timeout=30,
    )


def _consent(session: requests.Session, authorize_url: str, tenant: dict) -> str:
    """Sign in and approve at the simulator; return the callback URL it redirects to."""
    r = session.get(authorize_url, timeout=30)
    assert r.status_code == 200, r.text[:300]
    form = {k: html.unescape(v) for k, v in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', r.text)}  # fmt: skip
    form |= {"username": tenant["oauth"]["login"], "password": tenant["oauth"]["password"]}
    root = authorize_url.split("/oauth/")[0]
    r = session.post(f"{root}/oauth/authorize", data=form, timeout=30)
    ticket = re.search(r'name="ticket" value="([^"]+)"', r.text).group(1)
    r = session.post(
        f"{root}/oauth/authorize",
        data={"ticket": ticket, "decision": "approve"},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code in (302, 303), r.text[:300]
    return r.headers["location"]


def _consented(api_server, sim, conn_id: str, **tenant_options):
    """Create ``conn_id``, start the flow as admin and approve it at the simulator.

    Returns (admin session, callback URL, tenant); the callback is not followed yet.
    """
    tenant = create_tenant_connection(conn_id, sim, **tenant_options)
    session = api_server.session("admin")
    start = _start(session, api_server, conn_id)
    assert start.status_code == 303
    return session, _consent(session, start.headers["location"], tenant), tenant


def test_a_refusal_is_shown_as_printable_text_only(api_server, sim) -> None:
    """The authorization server's ``error`` is echoed on the page and in the log: control
    characters (a forged log line) are dropped."""
    conn_id = new_conn_id("refused")
    create_tenant_connection(conn_id, sim)
    session = api_server.session("admin")
    start = _start(session, api_server, conn_id)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    r = session.get(f"{api_server.base_url}/sendgrid/oauth/callback", timeout=30,
                    params={"state": state, "error": "access_denied\r\nINFO forged"})  # fmt: skip
    assert r.status_code == 400, r.text[:500]
    text = html.unescape(r.text)
    assert "SendGrid did not authorize the connection (access_deniedINFO forged)." in text


def _connected(api_server, sim, conn_id: str):
    """Create and connect ``conn_id``; return (session, callback URL used, tenant)."""
    session, callback, tenant = _consented(api_server, sim, conn_id, index=1)
    r = session.get(callback, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text[:500]
    return session, callback, tenant


# -- authentication / authorization ------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sendgrid/connections"),
        ("POST", "/sendgrid/connections"),
        ("POST", "/sendgrid/connections/x/connect"),
        ("POST", "/sendgrid/connections/x/api-key"),
        ("POST", "/sendgrid/connections/x/test"),
        ("POST", "/sendgrid/connections/x/invite"),
    ],
)
def test_unauthenticated_401_and_viewer_403(api_server, method: str, path: str) -> None:
    url = f"{api_server.base_url}{path}"
    anonymous = requests.request(method, url, data={}, allow_redirects=False, timeout=30)
    assert anonymous.status_code == 401
    viewer = api_server.session("viewer").request(method, url, data={}, timeout=30)
    assert viewer.status_code == 403
    bad_token = requests.request(method, url, cookies={"_token": "not-a-jwt"}, timeout=30)
    assert bad_token.status_code in (401, 403)


def test_post_without_or_with_foreign_csrf_is_refused(api_server, sim) -> None:
    conn_id = new_conn_id("csrf")
    create_tenant_connection(conn_id, sim)
    admin = api_server.session("admin")
    url = f"{api_server.base_url}/sendgrid/connections/{conn_id}/connect"
    assert admin.post(url, data={}, allow_redirects=False, timeout=30).status_code == 403
    forged = signing.csrf_token("someone-else")
    r = admin.post(url, data={"csrf": forged}, allow_redirects=False, timeout=30)
    assert r.status_code == 403
    csrf = csrf_of(_page(admin, api_server))
    r = admin.post(url, data={"csrf": csrf}, headers={"Origin": "https://evil.example"},
                   allow_redirects=False, timeout=30)  # fmt: skip
    assert r.status_code == 403


# -- OAuth state and code ----------------------------------------------------------------
def test_wrong_state_is_rejected(api_server, sim) -> None:
    conn_id = new_conn_id("state")
    admin, callback, _tenant = _consented(api_server, sim, conn_id)
    query = parse_qs(urlsplit(callback).query)
    cb = f"{api_server.base_url}/sendgrid/oauth/callback"

    for bad in ["", "garbage", query["state"][0] + "x",
                signing.sign({"n": "x", "c": conn_id}, signing.SALT_INVITE)]:  # fmt: skip
        r = admin.get(cb, params={"state": bad, "code": query["code"][0]}, timeout=30)
        assert r.status_code == 400, bad

    # the right state from another browser (no binding cookie) or another Airflow user
    other_browser = api_server.session("admin")
    r = other_browser.get(callback, timeout=30)
    assert r.status_code == 403
    assert "another browser" in r.text
    assert connection_extra(conn_id)["extra"].get("refresh_token") is None

    # the legitimate browser still completes (the refused attempts did not consume the state)
    r = admin.get(callback, allow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert connection_extra(conn_id)["extra"]["refresh_token"]


def test_a_callback_signed_out_meanwhile_asks_to_sign_in_and_keeps_the_state(
    api_server, sim
) -> None:
    """The admin's Airflow sign-in ended during the consent (an expired token, a cleared
    cookie): the callback asks to sign in, in a new tab, without the code in the link, and
    the same callback completes once signed in. Before, it said the flow was started by
    another Airflow user and offered no way on."""
    from sendgrid_connect.page_responses import BIND_COOKIE

    conn_id = new_conn_id("signedout")
    admin, callback, _tenant = _consented(api_server, sim, conn_id)
    signed_out = requests.Session()
    signed_out.cookies.set(BIND_COOKIE, admin.cookies.get(BIND_COOKIE))
    r = signed_out.get(callback, allow_redirects=False, timeout=30)
    assert r.status_code == 401
    text = html.unescape(r.text)
    assert "sign-in ended during the authorization" in text
    assert "another Airflow user" not in text
    login = re.search(r'id="login" href="([^"]+)" target="_blank"', r.text)
    assert login is not None
    assert "code" not in html.unescape(login.group(1))
    assert connection_extra(conn_id)["extra"].get("refresh_token") is None
    r = admin.get(callback, allow_redirects=False, timeout=30)  # signed in again, reloaded
    assert r.status_code == 303
    assert connection_extra(conn_id)["extra"]["refresh_token"]


def test_replayed_state_and_replayed_code_are_rejected(api_server, sim) -> None:
    conn_id = new_conn_id("replay")
    admin, callback, _tenant = _connected(api_server, sim, conn_id)
    first = connection_extra(conn_id)["extra"]["refresh_token"]

    replay = admin.get(callback, allow_redirects=False, timeout=30)
    assert replay.status_code == 400
    assert "already completed" in replay.text

    # the old code with a fresh, valid state of a new flow: the provider refuses it
    old_code = parse_qs(urlsplit(callback).query)["code"][0]
    start = _start(admin, api_server, conn_id)
    new_state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    r = admin.get(f"{api_server.base_url}/sendgrid/oauth/callback",
                  params={"state": new_state, "code": old_code}, timeout=30)  # fmt: skip
    assert r.status_code == 400
    assert "refused the authorization code" in r.text
    assert connection_extra(conn_id)["extra"]["refresh_token"] == first


def test_state_of_another_airflow_user_is_refused(api_server, sim) -> None:
    conn_id = new_conn_id("user")
    admin, callback, _tenant = _consented(api_server, sim, conn_id)
    signed_out = requests.Session()
    signed_out.cookies.update({"sendgrid_connect_bind": admin.cookies["sendgrid_connect_bind"]})
    assert signed_out.get(callback, timeout=30).status_code == 401  # asked to sign in first
    viewer = api_server.session("viewer")
    viewer.cookies.set("sendgrid_connect_bind", admin.cookies["sendgrid_connect_bind"])
    assert viewer.get(callback, timeout=30).status_code == 403


def test_pages_never_contain_secrets(api_server, sim) -> None:
    conn_id = new_conn_id("secret")
    admin, _, tenant = _connected(api_server, sim, conn_id)
    page = _page(admin, api_server)
    assert status_of(page, conn_id) in ("connected", "degraded")  # Essentials: no marketing
    stored = connection_extra(conn_id)["extra"]
    from sendgrid_hook.auth.token_store import VariableTokenStore

    token = VariableTokenStore().load(conn_id)
    for secret in (stored["refresh_token"], stored["client_secret"], token.access_token):
        assert secret
        assert secret not in page
    start = _start(admin, api_server, conn_id)
    location = start.headers["location"]
    assert tenant["oauth"]["client_secret"] not in location
    assert "code_challenge_method=S256" in location
    assert "code_verifier" not in location


# -- redirects ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "/sendgrid/../api/v2/connections",
        "/sendgrid/%2e%2e/auth/logout",
        "javascript:alert(1)",
        "/home",
    ],
)
def test_redirect_targets_outside_the_app_are_refused(api_server, sim, target: str) -> None:
    conn_id = new_conn_id("redir")
    create_tenant_connection(conn_id, sim)
    r = _start(api_server.session("admin"), api_server, conn_id, next=target)
    assert r.status_code == 400


def test_redirect_inside_the_app_and_fixed_redirect_uri(api_server, sim) -> None:
    conn_id = new_conn_id("inside")
    tenant = create_tenant_connection(conn_id, sim)
    admin = api_server.session("admin")
    r = _start(admin, api_server, conn_id, next=f"/sendgrid/connections?tenant={conn_id}")
    assert r.status_code == 303
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["redirect_uri"] == [f"{api_server.base_url}/sendgrid/oauth/callback"]
    callback = _consent(admin, r.headers["location"], tenant)
    done = admin.get(callback, allow_redirects=False, timeout=30)
    assert done.status_code == 303
    assert done.headers["location"] == f"/sendgrid/connections?tenant={conn_id}"


def _put_user_info(conn_id: str, where: str, root: str) -> None:
    """Give ``conn_id`` a host or an authorize_url with ``user:password@`` (as an admin might)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        conn = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        if where == "host":
            conn.host = root
        else:
            endpoint = {"authorize_url": f"{root}/oauth/authorize"}
            conn.set_extra(json.dumps(conn.extra_dejson | endpoint))


@pytest.mark.parametrize("where", ["host", "authorize_url"])
def test_credentials_in_an_endpoint_never_reach_the_browser(api_server, sim, where: str) -> None:
    """A base URL or authorization URL with ``user:password@`` is refused with a clear message:
    the flow would send the browser (an invited outsider's too) to it, credentials included."""
    conn_id = new_conn_id("userinfo")
    create_tenant_connection(conn_id, sim)
    _put_user_info(conn_id, where, sim.base_url.replace("://", "://ops:Hunter2x@"))
    admin = api_server.session("admin")
    r = _start(admin, api_server, conn_id)
    assert "Hunter2x" not in r.headers.get("location", "") + r.text
    assert r.status_code == 303
    assert r.headers["location"].startswith("/sendgrid/"), r.headers
    page = admin.get(f"{api_server.base_url}{r.headers['location']}", timeout=30).text
    assert "Hunter2x" not in page
    assert "user name or password" in html.unescape(page)


def test_safe_next_unit() -> None:
    assert signing.safe_next(None) == "/sendgrid/connections"
    assert signing.safe_next("/sendgrid/connections?tenant=a") == "/sendgrid/connections?tenant=a"
    for bad in ("http://x/sendgrid/", "//x", "/sendgrid/../x", "/sendgridx", "/%2F%2Fx"):
        with pytest.raises(signing.InvalidSignedValue):
            signing.safe_next(bad)


def test_the_list_shows_only_the_connections_the_user_may_read(api_server, sim, monkeypatch):
    """The page lists what the auth manager lets the user read, as Airflow's own connection
    list does (in multi-team mode, a team's editors see their team's connections only)."""
    import airflow.api_fastapi.app as airflow_app
    from sendgrid_connect.app import create_app
    from sendgrid_connect.page_responses import list_page
    from starlette.requests import Request

    mine, theirs = new_conn_id("team_a"), new_conn_id("team_b")
    for conn_id in (mine, theirs):
        create_tenant_connection(conn_id, sim)

    class OneTeam:
        def get_authorized_connections(self, *, user, method="GET"):
            assert method == "GET"
            return {mine}

    class Editor:
        def get_id(self) -> str:
            return "team-a-editor"

    monkeypatch.setattr(airflow_app, "get_auth_manager", OneTeam)
    app = create_app()
    request = Request({
        "type": "http", "method": "GET", "app": app, "router": app.router, "scheme": "http",
        "server": ("127.0.0.1", 80), "headers": [], "path": "/connections",
        "root_path": "/sendgrid", "query_string": b"",
    })  # fmt: skip
    page = list_page(request, Editor(), None)
    assert f'id="tenant-{mine}"' in page
    assert theirs not in page
