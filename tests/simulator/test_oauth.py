"""OAuth 2.0 code + PKCE S256 with requests-oauthlib, refresh rotation, revocation, expiry."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from sendgrid_simulator.testing import RunningSimulator

from .conftest import call

REDIRECT = "http://127.0.0.1:8765/sendgrid/callback"
SCOPES = ["user.account.read", "stats.read", "suppression.bounces.read"]


@pytest.fixture(autouse=True)
def _allow_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the simulator is plain HTTP


def _hidden(page: str) -> dict[str, str]:
    return {
        m[0]: html.unescape(m[1])
        for m in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    }


def _authorize(
    sim: RunningSimulator, tenant: dict, decision: str = "approve", scope: list[str] | None = None
) -> tuple[OAuth2Session, str]:
    """Walk login and consent with plain requests; return the session and the redirect URL."""
    oauth = OAuth2Session(
        tenant["oauth"]["client_id"], redirect_uri=REDIRECT, scope=scope or SCOPES, pkce="S256"
    )
    url, state = oauth.authorization_url(f"{sim.base_url}/oauth/authorize")
    browser = requests.Session()
    login = browser.get(url, timeout=10)
    assert login.status_code == 200
    for element in ('id="username"', 'id="password"', 'id="login"'):
        assert element in login.text
    consent = browser.post(
        f"{sim.base_url}/oauth/authorize",
        timeout=10,
        data={
            **_hidden(login.text),
            "username": tenant["oauth"]["login"],
            "password": tenant["oauth"]["password"],
        },
    )
    assert 'id="approve"' in consent.text
    assert 'id="deny"' in consent.text
    done = browser.post(
        f"{sim.base_url}/oauth/authorize",
        allow_redirects=False,
        timeout=10,
        data={**_hidden(consent.text), "decision": decision},
    )
    assert done.status_code == 302
    location = done.headers["Location"]
    assert location.startswith(REDIRECT)
    assert parse_qs(urlsplit(location).query)["state"] == [state]
    return oauth, location


def _token(sim: RunningSimulator, tenant: dict, **kw: object) -> tuple[OAuth2Session, dict]:
    oauth, location = _authorize(sim, tenant, **kw)  # type: ignore[arg-type]
    token = oauth.fetch_token(
        f"{sim.base_url}/oauth/token",
        authorization_response=location,
        client_secret=tenant["oauth"]["client_secret"],
    )
    return oauth, token


def _refresh(sim: RunningSimulator, tenant: dict, refresh_token: str) -> requests.Response:
    """Form client authentication (client_id + client_secret in the body)."""
    return requests.post(
        f"{sim.base_url}/oauth/token",
        timeout=10,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": tenant["oauth"]["client_id"],
            "client_secret": tenant["oauth"]["client_secret"],
        },
    )


def test_code_flow_with_pkce_and_scoped_access(
    fresh_sim: RunningSimulator, http: requests.Session
) -> None:
    tenant = fresh_sim.tenant(0)
    _, token = _token(fresh_sim, tenant)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert set(token["scope"]) == set(SCOPES)
    assert token["refresh_token"]
    access = token["access_token"]
    assert call(http, fresh_sim, "/v3/scopes", access).json() == {"scopes": sorted(SCOPES)}
    assert call(http, fresh_sim, "/v3/user/username", access).status_code == 403  # not granted
    r = call(http, fresh_sim, "/v3/stats", access, {"start_date": "2026-11-01"})
    assert r.status_code == 200


def test_pkce_is_required_and_checked(fresh_sim: RunningSimulator) -> None:
    tenant = fresh_sim.tenant(0)
    client_id = tenant["oauth"]["client_id"]
    r = requests.get(
        f"{fresh_sim.base_url}/oauth/authorize",
        allow_redirects=False,
        timeout=10,
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "state": "s1",
        },
    )
    assert r.status_code == 302
    assert "error=invalid_request" in r.headers["Location"]
    bad_uri = requests.get(
        f"{fresh_sim.base_url}/oauth/authorize",
        timeout=10,
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": "https://evil.example/cb",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert bad_uri.status_code == 400
    _oauth, location = _authorize(fresh_sim, tenant)
    code = parse_qs(urlsplit(location).query)["code"][0]
    wrong = requests.post(
        f"{fresh_sim.base_url}/oauth/token",
        timeout=10,
        auth=HTTPBasicAuth(client_id, tenant["oauth"]["client_secret"]),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": "not-the-verifier-" + "x" * 40,
        },
    )
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")


def test_wrong_password_and_deny(fresh_sim: RunningSimulator) -> None:
    tenant = fresh_sim.tenant(1)
    oauth = OAuth2Session(tenant["oauth"]["client_id"], redirect_uri=REDIRECT, pkce="S256")
    url, _ = oauth.authorization_url(f"{fresh_sim.base_url}/oauth/authorize")
    login = requests.get(url, timeout=10)
    again = requests.post(
        f"{fresh_sim.base_url}/oauth/authorize",
        timeout=10,
        data={**_hidden(login.text), "username": "x", "password": "y"},
    )
    assert again.status_code == 401
    assert 'id="error"' in again.text
    _, location = _authorize(fresh_sim, tenant, decision="deny")
    assert "error=access_denied" in location


def test_refresh_rotation_and_reuse(fresh_sim: RunningSimulator, http: requests.Session) -> None:
    tenant = fresh_sim.tenant(0)
    oauth, token = _token(fresh_sim, tenant)
    auth = HTTPBasicAuth(tenant["oauth"]["client_id"], tenant["oauth"]["client_secret"])
    new = oauth.refresh_token(
        f"{fresh_sim.base_url}/oauth/token", refresh_token=token["refresh_token"], auth=auth
    )
    assert new["refresh_token"] != token["refresh_token"]
    assert new["access_token"] != token["access_token"]
    assert call(http, fresh_sim, "/v3/user/account", new["access_token"]).status_code == 200
    newer = _refresh(fresh_sim, tenant, new["refresh_token"])
    assert newer.status_code == 200
    reused = _refresh(fresh_sim, tenant, token["refresh_token"])  # rotated: single use
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    # Reuse detection revokes the whole grant, including the latest refresh token.
    latest = _refresh(fresh_sim, tenant, newer.json()["refresh_token"])
    assert latest.json()["error"] == "invalid_grant"
    r = call(http, fresh_sim, "/v3/user/account", newer.json()["access_token"])
    assert r.status_code == 401


def test_revocation_gives_invalid_grant(
    fresh_sim: RunningSimulator, http: requests.Session
) -> None:
    tenant = fresh_sim.tenant(0)
    _, token = _token(fresh_sim, tenant)
    assert fresh_sim.control.revoke_refresh_tokens(tenant["tenant_id"]) == 1
    r = _refresh(fresh_sim, tenant, token["refresh_token"])
    assert (r.status_code, r.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "refresh token revoked"},
    )
    assert call(http, fresh_sim, "/v3/user/account", token["access_token"]).status_code == 401
    _, token = _token(fresh_sim, tenant)
    revoke = requests.post(
        f"{fresh_sim.base_url}/oauth/revoke",
        timeout=10,
        data={"token": token["refresh_token"]},
        auth=(tenant["oauth"]["client_id"], tenant["oauth"]["client_secret"]),
    )
    assert revoke.status_code == 200
    assert _refresh(fresh_sim, tenant, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_expired_access_token_is_401(fresh_sim: RunningSimulator, http: requests.Session) -> None:
    fresh_sim.control.set_oauth(access_token_ttl=1)
    tenant = fresh_sim.tenant(0)
    _, token = _token(fresh_sim, tenant)
    assert token["expires_in"] == 1
    assert call(http, fresh_sim, "/v3/user/account", token["access_token"]).status_code == 200
    time.sleep(1.1)
    r = call(http, fresh_sim, "/v3/user/account", token["access_token"])
    assert r.status_code == 401
    assert r.json()["errors"][0]["message"].startswith("The provided authorization grant")
    fresh = _refresh(fresh_sim, tenant, token["refresh_token"]).json()
    assert call(http, fresh_sim, "/v3/user/account", fresh["access_token"]).status_code == 200


def test_bad_client_credentials(fresh_sim: RunningSimulator) -> None:
    r = requests.post(
        f"{fresh_sim.base_url}/oauth/token",
        auth=("nobody", "x"),
        timeout=10,
        data={"grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert (r.status_code, r.json()) == (401, {"error": "invalid_client"})
