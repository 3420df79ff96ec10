"""The health card's reconnect sentence reads as one sentence, with or without a link.

The card passed "Reconnect on the connections page" and the macro, without a link, added "on the
Airflow UI's SendGrid connections page": "Reconnect on the connections page on the Airflow
UI's SendGrid connections page (/sendgrid/connections)".
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from sendgrid_elt.settings import CONNECT_PAGE_PATH

HEALTH = SimpleNamespace(
    connection_status="needs_reconnect", status_text="SendGrid answered 401", status_since_at=None,
    last_success_at=None, data_age_hours=None, ok_stream_count=0, missing_scope_stream_count=0,
    streams_missing_scopes=None, missing_scopes=None, not_licensed_stream_count=0,
    streams_not_licensed=None, streams_in_error=None, last_error=None,
)  # fmt: skip


def _card_text(href: str | None) -> str:
    from sendgrid_dashboard.render import _env

    html = _env.get_template("health_card.html.j2").render(
        tid="acme",
        o=SimpleNamespace(connection_status="needs_reconnect"),
        h=HEALTH,
        c={"reconnect_href": href},
    )
    block = re.search(r'<div class="reconnect-block">(.*?)</div>', html, re.S)
    assert block, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", block.group(1))).strip()


def test_without_a_link_the_page_is_named_once() -> None:
    text = _card_text(None)
    assert text.startswith(
        f"Reconnect on the Airflow UI's SendGrid connections page ({CONNECT_PAGE_PATH}). "
    ), text
    assert text.count("connections page") == 1


def test_with_a_link_the_button_says_reconnect() -> None:
    assert _card_text("http://localhost:8080/sendgrid/connections?tenant=acme") == "Reconnect"
