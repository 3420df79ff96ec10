"""Walk an OAuth 2.0 authorization-code flow with PKCE as a person at a browser would.

Used by the demo to connect its OAuth tenant the way the Connect button does: requests-oauthlib
builds the authorization URL (``state`` + PKCE S256) and redeems the code; the login and consent
pages of the authorization server are plain HTML forms, submitted here with their own fields.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import requests
from requests_oauthlib import OAuth2Session
from sendgrid_hook.auth.token_session import loopback_transport


class _FormParser(HTMLParser):
    """Collect the first ``<form>``: its action and the name/value of its inputs and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action, self._in_form = attr.get("action", ""), True
        elif self._in_form and tag == "input" and attr.get("name"):
            self.fields[attr["name"]] = attr.get("value", "")
        elif self._in_form and tag == "button" and attr.get("id"):
            self.buttons[attr["id"]] = (attr.get("name", ""), attr.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def _submit(
    session: requests.Session, page: requests.Response, values: dict[str, str], button: str
) -> requests.Response:
    form = _FormParser()
    form.feed(page.text)
    if form.action is None:
        raise RuntimeError(f"expected a form at {page.url} (HTTP {page.status_code})")
    data = {**form.fields, **values}
    name, value = form.buttons.get(button, ("", ""))
    if name:
        data[name] = value
    return session.post(
        urljoin(page.url, form.action), data=data, allow_redirects=False, timeout=30
    )


def authorize_with_consent(
    *,
    authorize_url: str,
    token_url: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    login: str,
    password: str,
    scope: list[str] | None = None,
) -> dict[str, Any]:
    """Sign in, approve, redeem the code; return the token response (with ``refresh_token``).

    Raises:
        RuntimeError: The server did not redirect back with a code.
    """
    with loopback_transport(authorize_url):  # oauthlib's https check, lifted for the simulator
        oauth = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=scope, pkce="S256")
        url, state = oauth.authorization_url(authorize_url)
        browser = requests.Session()
        login_page = browser.get(url, timeout=30)
        login_page.raise_for_status()
        consent_page = _submit(
            browser, login_page, {"username": login, "password": password}, button="login"
        )
        consent_page.raise_for_status()
        back = _submit(browser, consent_page, {}, button="approve")
        location = back.headers.get("Location", "")
        if back.status_code not in (302, 303) or not location.startswith(redirect_uri):
            raise RuntimeError(f"authorization was not granted (HTTP {back.status_code})")
        return oauth.fetch_token(
            token_url,
            authorization_response=location,
            client_secret=client_secret,
            state=state,
            include_client_id=True,
        )
