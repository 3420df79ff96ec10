"""A key pasted with a line break inside it is refused cleanly, never echoed.

A terminal or a mail client wraps a long key: pasted back, it holds a line break. Sent as it is,
the ``Authorization`` header is refused by ``http.client`` with a ``ValueError`` quoting the
whole header value; that must become a refusal naming no part of the key (on the page, in the
redirect, and in the API server's log), and nothing is saved.
"""

from __future__ import annotations

import html

import pytest

from .conftest import connection_extra, create_tenant_connection, csrf_of, new_conn_id


@pytest.mark.parametrize("cut", ["\n", "\r\n", "\t"])
def test_a_key_with_a_line_break_is_refused_without_echoing_it(api_server, sim, cut) -> None:
    conn_id = new_conn_id("wrapped")
    tenant = create_tenant_connection(conn_id, sim, index=0, oauth=False)
    key = tenant["api_keys"]["full"]
    secret = key.split(".")[2]
    pasted = f"{key[:30]}{cut}{key[30:]}"
    admin = api_server.session("admin")
    page = admin.get(f"{api_server.base_url}/sendgrid/connections", timeout=30).text
    r = admin.post(f"{api_server.base_url}/sendgrid/connections/{conn_id}/api-key",
                   data={"csrf": csrf_of(page), "api_key": pasted}, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text[:500]
    shown = html.unescape(r.text)
    assert "Nothing was saved" in shown or "not saved" in shown.lower(), shown[-800:]
    assert connection_extra(conn_id)["password"] is None
    redirects = " ".join(h.headers.get("location", "") for h in r.history)
    log = api_server.log_path.read_text(errors="replace")
    for where, text in {"page": shown, "redirect": redirects, "API server log": log}.items():
        for part in (secret[:20], secret[20:], key[:30], key[30:]):
            assert part not in text, f"part of the key is in the {where}"
