"""A token endpoint echoing the refresh token it was sent: the stored, rotated one is masked.

A task refreshes with the refresh token the token store holds (rotated by an earlier task), not
with the connection's seed. A token endpoint whose error repeats the token it was sent
(``"error_description": "refresh token ... is malformed"``) must not get that token into the
error, the log or the health row, like the seed and the client secret.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from sendgrid_hook.auth.token_store import StoredToken, VariableTokenStore, binding_of, fingerprint
from sendgrid_hook.errors import SendGridError
from sendgrid_hook.hooks.sendgrid import SendGridHook

from .fake_api import JsonHandler, serving

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")
CONN = "sg_echo_refresh"
CLIENT_ID = "echo-client"


class _EchoingTokenEndpoint(JsonHandler):
    """``POST /oauth/token``: 400 ``invalid_request`` repeating the refresh token it was sent."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        sent = form.get("refresh_token", [""])[0]
        body = {"error": "invalid_request", "error_description": f"refresh token {sent} is bad"}
        self.send(400, json.dumps(body).encode(), {})

    def do_GET(self) -> None:
        self.send(200, json.dumps({"scopes": ["user.account.read"]}).encode(), {})


@pytest.fixture
def host() -> Iterator[str]:
    with serving(_EchoingTokenEndpoint) as url:
        yield url


def test_the_stored_refresh_token_echoed_in_an_error_is_masked(
    host: str, set_conn: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seed, rotated = f"rt-seed-{secrets.token_urlsafe(24)}", f"rt-{secrets.token_urlsafe(24)}"
    now = time.time()
    VariableTokenStore().save(CONN, StoredToken(
        refresh_token=rotated, access_token=f"at-{secrets.token_urlsafe(24)}",
        expires_at=now - 60, rotated_at=now - 3700, seed_fingerprint=fingerprint(seed),
        binding=binding_of(host, f"{host}/oauth/token", CLIENT_ID),
    ))  # fmt: skip
    set_conn(CONN, {"conn_type": "sendgrid", "host": host, "extra": {
        "auth_type": "oauth2", "client_id": CLIENT_ID, "client_secret": secrets.token_urlsafe(24),
        "refresh_token": seed}})  # fmt: skip
    hook = SendGridHook(CONN, backoff_max=0.01)
    with pytest.raises(SendGridError) as failed:
        hook.get_json("/v3/scopes")
    text = str(failed.value)
    assert "OAuth token refresh" in text
    assert "refresh token *** is bad" in text  # the endpoint was sent the stored token
    assert rotated not in text
    assert rotated not in caplog.text
    assert seed not in text + caplog.text
