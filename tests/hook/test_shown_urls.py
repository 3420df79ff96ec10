"""A bad endpoint's error message never repeats the password in its user info.

The host or token URL is shown (shortened) when it is not an http(s) URL with a host, so that a
typo is easy to find. Its user info may hold a password with a space or a quote (characters a
password generator uses): it is masked up to the last ``@`` whatever it holds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sendgrid_hook.config import SendGridSettings
from sendgrid_hook.errors import SendGridConfigError

PASSWORD_PARTS = ("Hun", "ter2")


def _conn(host: str | None = None, token_url: str | None = None) -> Any:
    from airflow.sdk import Connection

    extra = json.dumps({"token_url": token_url}) if token_url else None
    return Connection(conn_id="c", conn_type="sendgrid", host=host, password="SG.a.b", extra=extra)


@pytest.mark.parametrize("password", ["Hun ter2", "Hun'ter2", 'Hun"ter2', "Hun@ter2", "Hun\tter2"])
@pytest.mark.parametrize("field", ["host", "token_url"])
def test_a_bad_endpoint_is_shown_without_its_password(field: str, password: str) -> None:
    url = f"ftp://ops:{password}@proxy.example:8080/x"  # not http(s): refused, and shown
    with pytest.raises(SendGridConfigError) as refused:
        SendGridSettings.from_connection(_conn(**{field: url}))
    text = f"{refused.value} {refused.value.fields}"
    assert "proxy.example" in text  # still easy to find
    for part in PASSWORD_PARTS:
        assert part not in text, text
