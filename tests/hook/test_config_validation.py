"""``SendGridSettings.from_connection``: a clear error per field, never a secret's value.

Table-driven: each case is a connection with one (or several) bad fields, the fields the error
must name, and text it must contain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from sendgrid_hook.config import SendGridSettings
from sendgrid_hook.errors import SendGridConfigError

KEY = "SG.valid-key-part.valid-secret-part"


@dataclass(frozen=True)
class Case:
    """A connection and what its error must say."""

    extra: Any
    fields: tuple[str, ...]
    says: tuple[str, ...] = ()
    host: str | None = "http://127.0.0.1:9"
    password: str | None = KEY
    never: tuple[str, ...] = field(default_factory=tuple)


CASES = {
    "timeout with a unit": Case({"read_timeout": "30s"}, ("read_timeout",),
                                ("read_timeout: must be a number (seconds), got '30s'",)),
    "fractional retries": Case({"max_retries": 2.5}, ("max_retries",), ("whole number",)),
    "boolean budget": Case({"request_budget": True}, ("request_budget",)),
    "zero budget": Case({"request_budget": 0}, ("request_budget",), ("at least 1",)),
    "negative wait": Case({"max_wait": -1}, ("max_wait",)),
    "nan timeout": Case({"connect_timeout": "nan"}, ("connect_timeout",)),
    "tiny body cap": Case({"max_response_bytes": 10}, ("max_response_bytes",)),
    "unknown region": Case({"region": "mars"}, ("region",), ("global, eu", "'mars'"), host=None),
    "unknown auth type": Case({"auth_type": "basic"}, ("auth_type",)),
    "subusers not a list": Case({"subusers": 5}, ("subusers",)),
    "alert e-mails not a list": Case({"alert_emails": {"a": 1}}, ("alert_emails",)),
    "host without a name": Case({}, ("host",), host="http://:8080"),
    "host with a bad port": Case({}, ("host",), host="http://example.com:99999"),
    "proxy credentials in a bad host": Case({}, ("host",), ("https://***@proxy:99999",),
                                            host="https://ops:Hunter2x@proxy:99999",
                                            never=("Hunter2x", "ops:")),
    "credentials in a bad token URL": Case({"token_url": "ftp://me:pw-XyZ@x/token"},
                                           ("token_url",), ("ftp://***@x",),
                                           never=("pw-XyZ",)),
    "token URL not http": Case({"token_url": "ftp://x/token"}, ("token_url",)),
    # user info never works (SendGrid takes the key) and would ride along in every redirect
    "proxy credentials in a good host": Case({}, ("host",), ("HTTPS_PROXY",),
                                             host="https://ops:Hunter2x@proxy.example",
                                             never=("Hunter2x", "ops:")),
    "credentials in a good token URL": Case({"token_url": "https://me:pw-XyZ@x/token"},
                                            ("token_url",), ("user:password@",),
                                            never=("pw-XyZ",)),
    "credentials in a host without a scheme": Case({}, ("host",), ("***@proxy",),
                                                   host="ops:Hunter2x@proxy:99999",
                                                   never=("Hunter2x", "ops:")),
    "a password with a slash in a host": Case({}, ("host",), ("https://***@proxy",),
                                              host="https://ops:Hun/ter2x@proxy:99999",
                                              never=("Hun", "ter2x", "ops:")),
    "a password with a slash, no scheme": Case({}, ("host",), ("***@proxy",),
                                               host="ops:Hun/ter2x@proxy:99999",
                                               never=("Hun", "ter2x", "ops:")),
    "a password with an @, no scheme": Case({}, ("host",), ("got '***@proxy:99999",),
                                            host="ops:Hun@ter2x@proxy:99999",
                                            never=("Hun", "ter2x", "ops:")),
    "extra not an object": Case([1, 2], ("extra",), ("JSON object",)),
    "extra not JSON": Case('{"read_timeout": 30,}', ("extra",), ("not valid JSON",)),
    "secret of the wrong type": Case(
        {"auth_type": "oauth2", "client_id": "c", "client_secret": {"v": "hunter2-secret"}},
        ("client_secret",), ("client_secret: must be a string",), never=("hunter2",)),
    "a key pasted into a number field": Case(
        {"read_timeout": KEY}, ("read_timeout",), never=("valid-secret-part",)),
    "several at once": Case(
        {"read_timeout": "30s", "max_retries": "five", "region": "mars"},
        ("read_timeout", "max_retries", "region")),
    "empty API key": Case({}, ("password",), ("the API key is empty",), password=None),
    "OAuth without a client": Case({"auth_type": "oauth2"}, ("client_id", "client_secret"),
                                   ("OAuth2 needs client_id, client_secret",)),
}  # fmt: skip


def _connection(case: Case) -> Any:
    from airflow.sdk import Connection

    return Connection(
        conn_id="sg_bad",
        conn_type="sendgrid",
        host=case.host,
        password=case.password,
        extra=case.extra if isinstance(case.extra, str) else json.dumps(case.extra),
    )


@pytest.mark.parametrize("name", CASES, ids=list(CASES))
def test_each_bad_field_is_named(name: str) -> None:
    case = CASES[name]
    with pytest.raises(SendGridConfigError) as raised:
        SendGridSettings.from_connection(_connection(case))
    error = raised.value
    assert set(error.fields) == set(case.fields), error.fields
    text = str(error)
    assert text.startswith("connection 'sg_bad': ")
    for expected in case.says:
        assert expected in text
    for secret in (*case.never, KEY):
        assert secret not in text
        assert secret not in json.dumps(error.fields)


def test_valid_numbers_given_as_text_are_accepted() -> None:
    conn = _connection(Case({"read_timeout": "30", "max_retries": "3", "time_budget": 600}, ()))
    settings = SendGridSettings.from_connection(conn)
    assert (settings.read_timeout, settings.max_retries, settings.time_budget) == (30.0, 3, 600.0)
    assert settings.max_response_bytes == 64 * 1024 * 1024
    assert settings.max_wait == 120.0


def test_the_hook_reports_the_field(set_conn: Any) -> None:
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    set_conn("sg_bad", {"conn_type": "sendgrid", "host": "http://127.0.0.1:9", "password": KEY,
                        "extra": {"read_timeout": "30s"}})  # fmt: skip
    ok, message = SendGridHook("sg_bad").test_connection()
    assert not ok
    assert "read_timeout: must be a number (seconds), got '30s'" in message
    assert KEY not in message
