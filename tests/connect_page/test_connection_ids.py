"""Connection ids with the characters Airflow allows (``^[\\w#!()\\-.:/\\\\]+$``) work on the page.

Over HTTP against the real API server: a connection made in Admin -> Connections as ``acme/eu``
or ``acme#2`` gets working buttons (each form posts to its own connection, as a browser sends
it: a ``#`` would start a fragment, a ``/`` a new path segment) and the reconnect alerts' link
highlights its row.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urldefrag, urljoin, urlsplit

import pytest
from sendgrid_connect import signing

from .conftest import create_tenant_connection, csrf_of, new_conn_id

SUFFIXES = ["/eu", "#2", ":(old)!", "\\x"]


def _form_action(page: str, conn_id: str, button: str) -> str:
    """The action of the form holding ``<button id="{button}-{conn_id}">``."""
    button_at = page.index(f'id="{button}-{html.escape(conn_id)}"')
    form = page[:button_at].rsplit("<form", 1)[1]
    return html.unescape(re.search(r'action="([^"]+)"', form).group(1))


def _browser_url(api_server, action: str) -> str:
    """Where a browser posts a form with this action (relative URL resolved, fragment cut)."""
    return urldefrag(urljoin(f"{api_server.base_url}/sendgrid/connections", action)).url


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_each_button_of_a_row_reaches_its_connection(api_server, sim, suffix: str) -> None:
    conn_id = new_conn_id("acme") + suffix
    create_tenant_connection(conn_id, sim, index=0)
    admin = api_server.session("admin")
    page = admin.get(f"{api_server.base_url}/sendgrid/connections", timeout=30).text
    csrf = csrf_of(page)

    test = _browser_url(api_server, _form_action(page, conn_id, "test"))
    r = admin.post(test, data={"csrf": csrf}, timeout=60)
    assert r.status_code == 200, (test, r.status_code, r.text[:300])
    flash = re.search(r'id="flash"[^>]*>\s*<p>([^<]*)</p>', r.text)
    assert flash, r.text[:500]
    assert html.unescape(flash.group(1)).startswith(f"Test {conn_id}: "), flash.group(1)

    connect = _browser_url(api_server, _form_action(page, conn_id, "connect"))
    r = admin.post(connect, data={"csrf": csrf}, allow_redirects=False, timeout=60)
    assert r.status_code == 303, (connect, r.status_code, r.text[:300])
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    assert signing.unsign(state, signing.SALT_STATE, signing.STATE_TTL)["c"] == conn_id

    invite = _browser_url(api_server, _form_action(page, conn_id, "invite"))
    r = admin.post(invite, data={"csrf": csrf}, timeout=60)
    assert r.status_code == 200, (invite, r.status_code, r.text[:300])
    assert f'<tr id="tenant-{html.escape(conn_id)}" class="highlight"' in r.text


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_reconnect_link_highlights_its_row(api_server, sim, suffix: str) -> None:
    from sendgrid_hook.notifications.reconnect import connect_url

    conn_id = new_conn_id("acme") + suffix
    create_tenant_connection(conn_id, sim, index=0)
    link = urldefrag(connect_url(conn_id, api_server.base_url)).url  # as a mail client opens it
    page = api_server.session("admin").get(link, timeout=30).text
    assert f'<tr id="tenant-{html.escape(conn_id)}" class="highlight"' in page, link
