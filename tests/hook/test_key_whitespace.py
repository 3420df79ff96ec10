"""An API key with whitespace: trimmed at its ends, refused (without its value) inside."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sendgrid_hook.errors import SendGridConfigError
from sendgrid_hook.hooks.sendgrid import SendGridHook

from .conftest import TEST_CONN, api_key_conn


@pytest.fixture
def key() -> str:
    return f"SG.{secrets.token_urlsafe(16)}.{secrets.token_urlsafe(32)}"


def test_a_trailing_line_break_is_trimmed(sim: Any, set_conn: Any) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    set_conn(TEST_CONN, api_key_conn(sim, f"  {key}\r\n"))
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    assert hook.settings.api_key == key
    assert hook.granted_scopes()


@pytest.mark.parametrize("cut", ["\n", "\r\n", " ", "\t", "\x00"])
def test_a_break_inside_the_key_is_a_config_error_naming_no_part_of_it(
    sim: Any, set_conn: Any, key: str, cut: str
) -> None:
    set_conn(TEST_CONN, api_key_conn(sim, f"{key[:30]}{cut}{key[30:]}"))
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    with pytest.raises(SendGridConfigError) as refused:
        hook.get_json("/v3/scopes")
    assert "password" in refused.value.fields
    text = f"{refused.value} {refused.value.fields}"
    assert key[:30] not in text
    assert key[30:] not in text
    ok, answer = hook.test_connection()
    assert not ok
    assert key[:30] not in answer
    assert key[30:] not in answer
