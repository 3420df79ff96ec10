"""Invite links over HTTP against the real API server and the simulator.

An invite is single use, bound to its connection, ended by a newer link or a saved credential;
its token travels in the link's fragment (the page posts it), the landing page's form carries
a token of its own, and links made in the old form (token in the path) are dead.
"""

from __future__ import annotations

import html
import re

import requests
from sendgrid_connect import nonces, signing, tenants

from .conftest import (
    connection_extra,
    continue_invite,
    create_tenant_connection,
    csrf_of,
    new_conn_id,
    open_invite,
)
from .test_security import _consent, _page


def _invite(api_server, conn_id: str) -> str:
    """The link the admin gets from "Invite your SendGrid admin"."""
    admin = api_server.session("admin")
    csrf = csrf_of(_page(admin, api_server))
    r = admin.post(f"{api_server.base_url}/sendgrid/connections/{conn_id}/invite",
                   data={"csrf": csrf}, timeout=30)  # fmt: skip
    assert r.status_code == 200
    return html.unescape(re.search(r'id="invite-link" [^>]*value="([^"]+)"', r.text).group(1))


def test_invite_link_single_use_no_airflow_account(api_server, sim) -> None:
    conn_id = new_conn_id("invite")
    tenant = create_tenant_connection(conn_id, sim, index=2)
    link = _invite(api_server, conn_id)
    assert link.startswith(f"{api_server.base_url}/sendgrid/invite#")  # token in the fragment

    guest = requests.Session()  # the SendGrid admin: no Airflow account, no cookie
    landing = open_invite(guest, link)
    assert landing.status_code == 200
    assert 'id="invite-continue"' in landing.text
    assert "/sendgrid/connections" not in landing.text
    assert link.split("#")[1] not in landing.text  # the form carries its own token
    # nothing else is reachable with the guest's browser
    assert guest.get(f"{api_server.base_url}/sendgrid/connections", timeout=30).status_code == 401
    start = continue_invite(guest, link, landing.text)
    assert start.status_code == 303
    callback = _consent(guest, start.headers["location"], tenant)
    done = guest.get(callback, timeout=30)
    assert done.status_code == 200, done.text[:500]
    assert "is connected" in done.text
    assert "/sendgrid/connections" not in done.text
    assert connection_extra(conn_id)["extra"]["refresh_token"]

    # reused: refused, both the landing page and the form
    assert open_invite(guest, link).status_code == 410
    assert open_invite(requests.Session(), link).status_code == 410
    again = continue_invite(guest, link, landing.text)
    assert again.status_code == 410


def test_a_new_link_or_a_saved_credential_ends_the_open_invites(api_server, sim) -> None:
    """At most one open invite per connection: a new link ends the older one, and a credential
    saved on the page (here an API key) ends the newest, so a forwarded link cannot replace a
    working credential."""
    conn_id = new_conn_id("invite_once")
    tenant = create_tenant_connection(conn_id, sim, index=2)
    first = _invite(api_server, conn_id)
    assert open_invite(requests.Session(), first).status_code == 200
    second = _invite(api_server, conn_id)
    assert open_invite(requests.Session(), first).status_code == 410
    assert open_invite(requests.Session(), second).status_code == 200
    admin = api_server.session("admin")
    r = admin.post(f"{api_server.base_url}/sendgrid/connections/{conn_id}/api-key",
                   data={"csrf": csrf_of(_page(admin, api_server)),
                         "api_key": tenant["api_keys"]["full"]}, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text[:500]
    assert "Connected" in r.text
    assert open_invite(requests.Session(), second).status_code == 410


def test_a_credential_saved_ends_an_invite_flow_already_at_sendgrid(api_server, sim) -> None:
    """The invitee clicked Continue (the flow is at SendGrid's consent page), then an admin
    saved an API key: the invitee's later approval is refused and the key stays (before, the
    invite's OAuth flow survived and its grant replaced the admin's key)."""
    conn_id = new_conn_id("invite_flow")
    tenant = create_tenant_connection(conn_id, sim, index=2)
    link = _invite(api_server, conn_id)
    guest = requests.Session()
    start = continue_invite(guest, link, open_invite(guest, link).text)
    assert start.status_code == 303
    admin = api_server.session("admin")
    r = admin.post(f"{api_server.base_url}/sendgrid/connections/{conn_id}/api-key",
                   data={"csrf": csrf_of(_page(admin, api_server)),
                         "api_key": tenant["api_keys"]["full"]}, timeout=60)  # fmt: skip
    assert "Connected" in r.text
    done = guest.get(_consent(guest, start.headers["location"], tenant), timeout=30)
    assert "is connected" not in done.text
    stored = connection_extra(conn_id)
    assert stored["extra"].get("auth_type", "api_key") == "api_key"
    assert "refresh_token" not in stored["extra"]
    assert stored["password"] == tenant["api_keys"]["full"]


def test_expired_or_forged_invite_is_refused(api_server, sim) -> None:
    conn_id = new_conn_id("expired")
    create_tenant_connection(conn_id, sim)
    nonce = nonces.issue("invite", conn_id, "invited-by:admin", ttl=-1)
    bound = signing.identity_fingerprint(tenants.identity(conn_id, create=True) or "")
    expired = signing.sign({"n": nonce, "c": conn_id, "f": bound}, signing.SALT_INVITE)
    base = f"{api_server.base_url}/sendgrid/invite"
    assert open_invite(requests.Session(), f"{base}#{expired}").status_code == 410
    r = requests.post(f"{base}/start", data={"csrf": "x"}, timeout=30)
    assert r.status_code == 410
    # a valid invite for one connection cannot be bent to another one
    link = _invite(api_server, conn_id)
    token = link.rsplit("#", 1)[1]
    other = signing.sign({"n": token, "c": "other"}, signing.SALT_STATE)
    assert open_invite(requests.Session(), f"{base}#{other}").status_code == 410
    assert open_invite(requests.Session(), f"{base}#{token}x").status_code == 410
    # the link's token is not the landing page's form token, nor the other way round
    assert requests.post(f"{base}/start", data={"csrf": token}, timeout=30).status_code == 410
    landing = open_invite(requests.Session(), link)
    assert open_invite(requests.Session(), f"{base}#{csrf_of(landing.text)}").status_code == 410
    # a token signed for the old links (in the path, so maybe in a log) is dead either way
    live = nonces.issue("invite", conn_id, "invited-by:admin", ttl=3600)
    old = signing.sign({"n": live, "c": conn_id, "f": bound}, "sendgrid-connect/invite")
    assert requests.get(f"{base}/{old}", timeout=30).status_code == 410
    assert open_invite(requests.Session(), f"{base}#{old}").status_code == 410
    # an OAuth state is not an invite and vice versa
    r = requests.get(f"{api_server.base_url}/sendgrid/oauth/callback",
                     params={"state": token, "code": "c"}, timeout=30)  # fmt: skip
    assert r.status_code == 400


def test_links_that_leave_the_server_use_the_configured_base_url(monkeypatch) -> None:
    """Invite links and the OAuth callback are built on ``[api] base_url`` when it is set, not
    on the request's ``Host`` header (which a client or proxy chooses)."""
    from sendgrid_connect.app import create_app
    from sendgrid_connect.page_responses import public_url
    from starlette.requests import Request

    app = create_app()
    request = Request({
        "type": "http", "method": "POST", "app": app, "router": app.router, "scheme": "http",
        "server": ("evil.example", 80), "headers": [(b"host", b"evil.example")],
        "path": "/connections/x/invite", "root_path": "/sendgrid", "query_string": b"",
    })  # fmt: skip
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    assert public_url(request, "invite_landing") == "https://airflow.example.com/sendgrid/invite"
    assert public_url(request, "oauth_callback") == (
        "https://airflow.example.com/sendgrid/oauth/callback"
    )
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "")  # not configured: the request's own URL
    assert public_url(request, "invite_landing") == "http://evil.example/sendgrid/invite"
