"""Markup in what the Connect page shows: names, a bad extra's quoted value, the invite page.

A guard (the pages autoescape): over HTTP against the real API server, a connection whose
display name and description are markup, and whose broken extra quotes markup back in its
error, renders as text on the list and on the invite landing page: no element, attribute or
script comes from the data.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

from tests.bidi_order import IN_ORDER

from .conftest import create_tenant_connection, new_conn_id, open_invite
from .test_hostile_connections import _invite, _list

MARKUP = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


class _Elements(HTMLParser):
    """The page's start tags with their attributes, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _read(page: str) -> _Elements:
    reader = _Elements()
    reader.feed(page)
    return reader


def _no_markup_from_data(page: str) -> _Elements:
    read = _read(page)
    assert not [t for t, _ in read.tags if t == "img"]
    assert not [a for _, a in read.tags if any(k.startswith("on") for k in a)]
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(2)" in page
    return read


def test_markup_in_a_connection_shows_as_text(api_server, sim) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    named, broken = new_conn_id("markup"), new_conn_id("markup_bad")
    create_tenant_connection(named, sim, index=0)
    with create_session() as session:
        conn = session.query(Connection).filter(Connection.conn_id == named).one()
        conn.description = f"Described {MARKUP}"
        conn.set_extra(json.dumps({**json.loads(conn.extra), "display_name": f"Acme {MARKUP}"}))
        session.add(Connection(conn_id=broken, conn_type="sendgrid", host=sim.base_url,
                               extra=json.dumps({"max_retries": MARKUP})))  # fmt: skip

    page = _list(api_server)
    assert page.status_code == 200, page.text[:300]
    read = _no_markup_from_data(page.text)
    text = "".join(read.text)
    assert f"Acme {MARKUP}" in text
    error = re.search(rf'id="config-error-{broken}"[^>]*>([^<]+)<', page.text)
    assert error, "the broken connection's row does not say what is wrong"
    assert "got '\"><im" in html.unescape(error.group(1))  # its value quoted, as text

    landing = open_invite(api_server.session(None), _invite(api_server, named))
    assert landing.status_code == 200, landing.text[:300]
    read = _no_markup_from_data(landing.text)
    assert f"Connect Acme {MARKUP} to the SendGrid usage report" in "".join(read.text)


def test_a_tenant_parameter_that_is_no_connection_id_is_not_echoed(api_server) -> None:
    """``?tenant=`` comes from a link anyone can craft; its value was repeated in the page's
    notice ("No connection <strong>…</strong> that you may edit…") whatever it held: sentences
    of the attacker's choosing on the admin's own page, or a right-to-left override reversing
    the notice. A value Airflow would not take as a connection id is not echoed."""
    spoof = "x\u202e. Security notice: paste a new full-access key at https://evil.example/"
    admin = api_server.session("admin")
    page = admin.get(f"{api_server.base_url}/sendgrid/connections", params={"tenant": spoof},
                     timeout=30)  # fmt: skip
    assert page.status_code == 200, page.text[:300]
    assert "evil.example" not in page.text
    assert "\u202e" not in page.text
    plain = admin.get(f"{api_server.base_url}/sendgrid/connections",
                      params={"tenant": "env_only:eu/1"}, timeout=30)  # fmt: skip
    assert "<strong>env_only:eu/1</strong>" in plain.text  # an id Airflow takes is still named


def test_a_bidi_override_in_a_name_does_not_reverse_the_invite_page(chromium) -> None:
    """The invite landing page is read by an outside SendGrid admin: a connection named with an
    unclosed right-to-left override reversed the rest of the sentence that says what they
    approve ("You will sign in at SendGrid and approve the access; nothing else is shared"),
    and on the list the invite notice's "It works once, only for this connection, until ..."."""
    from playwright.sync_api import sync_playwright
    from sendgrid_connect import pages

    from sendgrid_dashboard.browser import CHROMIUM_ARGS

    name = "Acme \u202eRetail"
    invite = pages.render("invite", title="t", name=name, action="/a", csrf="c",
                          sign_in_host="sendgrid.com")  # fmt: skip
    listed = pages.render("list", title="t", rows=[], flash=None, focus=None, regions={},
                          invite={"name": name, "expires": "2026-12-08 12:00", "url": "u"},
                          focus_missing=False, prefix="", csrf="c")  # fmt: skip
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            in_order = []
            for html_text, markers in ((invite, ("You will sign", "to the SendGrid")),
                                       (listed, ("It works once",))):  # fmt: skip
                page.set_content(html_text)
                in_order += page.evaluate(IN_ORDER, [["body", m] for m in markers])
        finally:
            browser.close()
    assert in_order == [True, True, True]
