"""A server that echoes the credential as the account's username never gets it into a Test.

A Test's answer names the account a credential reaches (``GET /v3/user/username``); that text
is shown in the Airflow UI, printed by ``airflow connections test`` and carried by the Connect
page's redirect. A username repeating the ``Authorization`` header must not put the key there.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from sendgrid_hook.hooks.sendgrid import SendGridHook

from .fake_api import JsonHandler, serving

KEY = f"SG.{secrets.token_urlsafe(16)}.{secrets.token_urlsafe(32)}"


class _EchoingIdentity(JsonHandler):
    """Every scope granted; the account's username is the bearer credential it was sent."""

    def do_GET(self) -> None:
        sent = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.path.startswith("/v3/scopes"):
            from sendgrid_hook.scopes import scope_requirements

            needs = scope_requirements()
            body: Any = {"scopes": sorted({*needs.required, *needs.optional})}
        else:
            body = {"username": f"acme {sent}", "user_id": 7}
        self.send(200, json.dumps(body).encode(), {})


@pytest.fixture
def echoing_url() -> Iterator[str]:
    with serving(_EchoingIdentity) as url:
        yield url


def test_a_username_echoing_the_key_is_masked_in_the_test_answer(
    echoing_url: str, set_conn: Any
) -> None:
    set_conn("sg_echo", {"conn_type": "sendgrid", "host": echoing_url, "password": KEY})
    ok, text = SendGridHook(sendgrid_conn_id="sg_echo").test_connection()
    assert ok, text
    assert "user id 7" in text  # the account is still named
    assert KEY not in text
    assert KEY.split(".")[2] not in text
