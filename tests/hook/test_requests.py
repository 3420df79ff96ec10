"""API-key requests against the simulator: scopes, typed errors, paginators, subusers."""

from __future__ import annotations

from typing import Any

import pytest
from sendgrid_hook.errors import (
    ReconnectRequired,
    SendGridBudgetExceededError,
    SendGridError,
    SendGridFatalError,
    SendGridForbiddenError,
    SendGridNotFoundError,
)
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_hook.page_records import RESULT_OR_BODY, extract_records

from tests.hook.conftest import TEST_CONN, api_key_conn


@pytest.fixture
def hook(sim: Any, tenant: dict, set_conn: Any) -> SendGridHook:
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"], subusers="acme-wen01, x"))
    return SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01)


def test_connection_attributes(hook: SendGridHook, sim: Any) -> None:
    assert hook.tenant_id == TEST_CONN
    assert hook.display_name == "Acme Retail"
    assert hook.subusers_filter == ["acme-wen01", "x"]
    assert hook.base_url == sim.base_url


def test_granted_scopes_is_one_cached_request(hook: SendGridHook) -> None:
    scopes = hook.granted_scopes()
    assert "user.account.read" in scopes
    assert hook.granted_scopes() is scopes
    assert hook.request_count == 1


def test_get_json_and_on_behalf_of(hook: SendGridHook, tenant: dict) -> None:
    parent = hook.get_json("/v3/user/username")
    sub = hook.get_json("/v3/user/username", on_behalf_of=tenant["subusers"][0])
    assert parent["username"] == tenant["username"]
    assert sub["username"] == tenant["subusers"][0]


def test_typed_errors(hook: SendGridHook, sim: Any, tenant: dict) -> None:
    with pytest.raises(SendGridNotFoundError) as not_found:
        hook.get_json("/v3/no/such/endpoint")
    assert not_found.value.status_code == 404
    with pytest.raises(SendGridForbiddenError):
        hook.get_json("/v3/user/account", on_behalf_of="not-a-subuser")
    with pytest.raises(SendGridFatalError) as bad:
        hook.get_json("/v3/stats", params={"start_date": "yesterday"})
    assert bad.value.status_code == 400
    sim.control.revoke_key(tenant["api_keys"]["full"])
    with pytest.raises(ReconnectRequired) as gone:
        hook.get_json("/v3/user/account")
    assert gone.value.reason == "api_key_rejected"
    assert tenant["api_keys"]["full"] not in str(gone.value)


def test_request_budget(sim: Any, tenant: dict, set_conn: Any) -> None:
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"], request_budget=3))
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    for _ in range(3):
        hook.get_json("/v3/user/account")
    with pytest.raises(SendGridBudgetExceededError, match="budget of 3"):
        hook.get_json("/v3/user/account")
    assert hook.request_count == 3


def test_offset_pagination_follows_link_and_streams(hook: SendGridHook, sim: Any) -> None:
    pages: list[int] = []
    records = hook.iter_records(
        "/v3/suppression/bounces",
        pagination="offset",
        records_path=None,
        page_size=200,
        on_page=lambda p: pages.append(p.records),
    )
    first = next(records)
    assert pages == [200], "one page fetched before the first record is yielded"
    rest = list(records)
    total = 1 + len(rest)
    assert total == pages[-1] == hook.last_progress.records
    assert len(pages) == -(-total // 200)
    assert len({(r["email"], r["created"]) for r in [first, *rest]}) == total


def test_metadata_next_pagination(hook: SendGridHook) -> None:
    templates = list(
        hook.iter_records(
            "/v3/templates",
            pagination="metadata_next",
            records_path="result",
            params={"generations": "legacy,dynamic"},
            page_size=1,
        )
    )
    assert len(templates) == hook.last_progress.pages >= 2
    assert len({t["id"] for t in templates}) == len(templates)


def test_results_and_result_are_interchangeable(hook: SendGridHook) -> None:
    stats = list(
        hook.iter_records(
            "/v3/marketing/stats/singlesends",
            pagination="metadata_next",
            records_path="result",
            page_size=1,
        )
    )
    assert hook.last_progress.pages == max(1, len(stats))


def test_keyset_pagination(hook: SendGridHook) -> None:
    ips = list(
        hook.iter_records(
            "/v3/send_ips/ips", pagination="keyset", records_path="result", page_size=1
        )
    )
    assert ips
    assert hook.last_progress.pages in (len(ips), len(ips) + 1)
    assert len({ip["ip"] for ip in ips}) == len(ips)


def test_single_object_and_none_paginator(hook: SendGridHook) -> None:
    account = list(hook.iter_records("/v3/user/account", pagination="none", records_path="."))
    assert len(account) == 1
    assert "type" in account[0]
    scopes = hook.get_json("/v3/scopes")
    assert isinstance(scopes["scopes"], list)


def test_api_key_detail_in_the_specs_array_or_flat(hook: SendGridHook) -> None:
    listed = list(hook.iter_records("/v3/api_keys", pagination="offset", records_path="result"))
    assert listed
    assert all("scopes" not in k for k in listed)  # the list has ids and names only
    key_id = listed[0]["api_key_id"]
    (detail,) = hook.iter_records(
        f"/v3/api_keys/{key_id}", pagination="none", records_path=RESULT_OR_BODY
    )
    assert detail["api_key_id"] == key_id
    assert isinstance(detail["scopes"], list)
    # the spec wraps the key in a result array; a flat key is taken as the record
    assert extract_records({"result": [detail]}, RESULT_OR_BODY) == [detail]
    assert extract_records(detail, RESULT_OR_BODY) == [detail]
    with pytest.raises(SendGridFatalError, match="not a list"):
        extract_records({"result": detail}, RESULT_OR_BODY)


def test_unknown_paginator(hook: SendGridHook) -> None:
    with pytest.raises(ValueError, match="unknown pagination"):
        list(hook.iter_records("/v3/alerts", pagination="cursor", records_path=None))


def test_environment_proxy_is_honoured_and_resolved_once(
    sim: Any, tenant: dict, set_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests.sessions

    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"]))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: a proxy refuses
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01, backoff_max=0.02)
    with pytest.raises(SendGridError, match="ProxyError"):
        proxied.get_json("/v3/user/username")

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    lookups: list[str] = []
    real = requests.sessions.get_environ_proxies  # what Session.request calls per request
    monkeypatch.setattr(
        requests.sessions,
        "get_environ_proxies",
        lambda *a, **k: lookups.append("x") or real(*a, **k),
    )
    direct = SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01)
    for _ in range(3):
        assert direct.get_json("/v3/user/username")["username"] == tenant["username"]
    assert len(lookups) == 1  # resolved when the session was made, not on every request


def test_account_identity_names_the_account_the_credential_reaches(
    hook: SendGridHook, sim: Any, tenant: dict
) -> None:
    """One ``GET /v3/user/username``; a Test names the account; no request without the scope."""
    from sendgrid_hook.account import AccountIdentity

    user_id = hook.get_json("/v3/user/username")["user_id"]
    account = hook.account_identity()
    assert account == AccountIdentity(user_id, tenant["username"])
    ok, text = hook.test_connection()
    assert ok, text
    named = f"(account '{tenant['username']}', user id {user_id})"
    assert text.startswith(f"Connected to SendGrid as 'Acme Retail' {named}:"), text

    sim.control.drop_scopes(tenant["api_keys"]["full"], ["user.username.read"])
    without = SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01)
    assert without.account_identity() is None
    assert without.request_count == 1  # the scopes only: no refused request
    ok, text = without.test_connection()
    assert not ok  # a required scope is missing
    assert text.startswith("Connected to SendGrid as 'Acme Retail', but"), text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"user_id": 42, "username": "acme"}, (42, "acme")),
        ({"user_id": "42", "username": "acme"}, (42, "acme")),
        ({"user_id": True, "username": "acme"}, None),
        ({"user_id": "4x2", "username": "acme"}, None),
        ({"user_id": 42, "username": ""}, None),
        ({"username": "acme"}, None),
        ([{"user_id": 42, "username": "acme"}], None),
        (None, None),
    ],
)
def test_parse_identity_takes_only_a_user_id_and_a_username(body: Any, expected: Any) -> None:
    from sendgrid_hook.account import parse_identity

    assert parse_identity(body) == expected
