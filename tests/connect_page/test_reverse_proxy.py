"""The Connect page behind a TLS-terminating reverse proxy, and what the invite page names.

The API server (without ``--proxy-headers``) sees ``http://airflow.example.com`` while the
browser is on ``https://airflow.example.com`` (``[api] base_url``): its ``Origin`` is the
public one, and the bind cookie must be ``Secure``. No other origin is accepted.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fastapi import HTTPException
from sendgrid_connect import access, signing
from starlette.requests import Request
from starlette.responses import Response

from .conftest import csrf_of, new_conn_id

PUBLIC = "https://airflow.example.com/"


def _request(origin: str | None, host: str = "airflow.example.com") -> Request:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return Request({"type": "http", "method": "POST", "scheme": "http", "headers": headers,
                    "server": (host, 80), "path": "/connections/x/connect",
                    "root_path": "/sendgrid", "query_string": b""})  # fmt: skip


def _refused(origin: str | None, host: str = "airflow.example.com") -> bool:
    user = SimpleNamespace(get_id=lambda: "admin")
    try:
        access.check_csrf(_request(origin, host), user, signing.csrf_token("admin"))
    except HTTPException as exc:
        return exc.status_code == 403
    return False


def test_the_public_origin_of_base_url_is_accepted_behind_a_tls_proxy(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", PUBLIC)
    assert not _refused("https://airflow.example.com")
    assert not _refused("https://AIRFLOW.example.com:443/")
    assert not _refused("http://airflow.example.com")  # the request's own origin
    assert not _refused(None)
    for foreign in ("https://evil.example", "http://evil.example", "https://airflow.example.com:8443",
                    "https://airflow.example.com.evil.example", "https://airflow.example.com/x",
                    "https://user@airflow.example.com", "not a url"):  # fmt: skip
        assert _refused(foreign), foreign
    # the request's own host does not extend to a public origin on another host
    assert _refused("https://other.example", host="other.example")
    assert not _refused("http://other.example", host="other.example")


def test_without_base_url_only_the_requests_own_origin_is_accepted(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "")
    assert _refused("https://airflow.example.com")
    assert not _refused("http://airflow.example.com")


def test_the_bind_cookie_is_secure_when_base_url_is_https(monkeypatch) -> None:
    from sendgrid_connect.page_responses import BIND_COOKIE, clear_bind_cookie, set_bind_cookie

    def cookies(base_url: str) -> list[str]:
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", base_url)
        response = Response()
        set_bind_cookie(_request(None), response, "b1nd")
        clear_bind_cookie(_request(None), response)
        return [v.decode() for k, v in response.raw_headers if k == b"set-cookie"]

    for cookie in cookies(PUBLIC):
        assert cookie.startswith(f"{BIND_COOKIE}=")
        assert "; secure" in cookie.lower(), cookie
        assert "httponly" in cookie.lower()
        assert "samesite=lax" in cookie.lower()
    assert all("secure" not in c.lower() for c in cookies("http://localhost:8080/"))


def _store(conn_id: str, authorize_url: str) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    extra = {"auth_type": "oauth2", "client_id": "cid", "client_secret": "cs",
             "display_name": "Acme <b>Retail</b>", "authorize_url": authorize_url}  # fmt: skip
    conn = Connection(conn_id=conn_id, conn_type="sendgrid", host="https://api.sendgrid.com")
    conn.set_extra(json.dumps(extra))
    with create_session() as session:
        session.add(conn)


@pytest.mark.usefixtures("airflow_home")
def test_an_invite_behind_a_tls_proxy_names_the_sign_in_host(monkeypatch) -> None:
    """The invitee's page names the host "Continue" leads to; its form posts from the public
    origin (https) to the API server (http) and gets a ``Secure`` bind cookie; a foreign origin
    is refused without spending the link."""
    from fastapi.testclient import TestClient
    from sendgrid_connect import invites
    from sendgrid_connect.app import create_app
    from sendgrid_connect.page_responses import BIND_COOKIE

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", PUBLIC)
    conn_id = new_conn_id("proxy_invite")
    _store(conn_id, "https://login.idp-example.test:8443/oauth2/authorize?x=1")
    token = invites.issue(conn_id, "admin")
    client = TestClient(create_app(), base_url="http://airflow.example.com",
                        root_path="/sendgrid")  # fmt: skip

    assert "script-src 'sha256-" in client.get("/invite").headers["content-security-policy"]
    landing = client.post("/invite", data={"token": token})
    assert landing.status_code == 200, landing.text
    assert 'id="sign-in-host">login.idp-example.test:8443</strong>' in landing.text
    assert "Acme &lt;b&gt;Retail&lt;/b&gt;" in landing.text  # the page escapes what it names
    csrf = csrf_of(landing.text)

    evil = client.post("/invite/start", data={"csrf": csrf}, follow_redirects=False,
                       headers={"Origin": "https://evil.example"})  # fmt: skip
    assert evil.status_code == 403
    r = client.post("/invite/start", data={"csrf": csrf}, follow_redirects=False,
                    headers={"Origin": "https://airflow.example.com"})  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("https://login.idp-example.test:8443/oauth2/authorize")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{BIND_COOKIE}=")
    assert "; secure" in cookie.lower(), cookie


def test_the_invite_page_escapes_the_sign_in_host() -> None:
    from sendgrid_connect import pages

    page = pages.render("invite", title="t", name="n", action="/a", csrf="c",
                        sign_in_host='evil.example"><script>')  # fmt: skip
    assert 'id="sign-in-host">evil.example&#34;&gt;&lt;script&gt;</strong>' in page
