"""A token endpoint that echoes what it was sent never puts a secret on the Connect page.

The code exchange posts the authorization code and the client's credentials (HTTP Basic) to
the connection's token URL. An endpoint that answers with a non-standard ``error`` repeating
them (``{"error": "code ... for client ... refused"}``: oauthlib keeps such a text verbatim as
``CustomOAuth2Error.error``) must not get them onto the page, nor into the API server's log.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import create_tenant_connection, csrf_of, new_conn_id


class _EchoingTokenEndpoint(BaseHTTPRequestHandler):
    """Answers every token request 400 with an ``error`` quoting the code and client secret."""

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        basic = self.headers.get("Authorization", "").removeprefix("Basic ")
        client_secret = base64.b64decode(basic).decode().split(":", 1)[-1] if basic else ""
        code = form.get("code", [""])[0]
        body = json.dumps({"error": f"code {code} for client {client_secret} refused"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echoing_token_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingTokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/oauth/token"
    finally:
        server.shutdown()
        server.server_close()


def _set_token_url(conn_id: str, token_url: str) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        conn = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        conn.set_extra(json.dumps(conn.extra_dejson | {"token_url": token_url}))


def test_an_echoed_code_and_client_secret_never_reach_the_page_or_log(
    api_server, sim, echoing_token_url: str
) -> None:
    conn_id = new_conn_id("echo")
    tenant = create_tenant_connection(conn_id, sim)
    _set_token_url(conn_id, echoing_token_url)
    admin = api_server.session("admin")
    page = admin.get(f"{api_server.base_url}/sendgrid/connections", timeout=30).text
    start = admin.post(
        f"{api_server.base_url}/sendgrid/connections/{conn_id}/connect",
        data={"csrf": csrf_of(page)},
        allow_redirects=False,
        timeout=30,
    )
    assert start.status_code == 303, start.text[:500]
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    code = "code-" + secrets.token_urlsafe(24)
    r = admin.get(f"{api_server.base_url}/sendgrid/oauth/callback",
                  params={"state": state, "code": code}, timeout=30)  # fmt: skip
    assert r.status_code == 400, r.text[:500]
    shown = html.unescape(r.text)
    assert "refused the authorization code" in shown  # the endpoint was asked, and refused
    client_secret = tenant["oauth"]["client_secret"]
    log = api_server.log_path.read_text(errors="replace")
    for where, text in {"page": shown, "API server log": log}.items():
        assert code not in text, f"the authorization code is in the {where}"
        assert client_secret not in text, f"the client secret is in the {where}"
