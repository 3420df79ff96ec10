"""OAuth2 with rotating refresh tokens: lazy refresh, persistence, concurrency, revocation."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sendgrid_hook.auth.token_store import VARIABLE_PREFIX, VariableTokenStore
from sendgrid_hook.errors import ReconnectRequired
from sendgrid_hook.hooks.sendgrid import SendGridHook

from tests.hook.conftest import TEST_CONN, oauth_conn, oauth_connect

pytestmark = pytest.mark.usefixtures("airflow_home", "warehouse")


@pytest.fixture
def connected(sim: Any, tenant: dict, set_conn: Any) -> dict[str, Any]:
    """An admin connected the tenant: the connection holds the first refresh token."""
    token = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"]))
    yield token
    from airflow.models import Variable

    Variable.delete(VARIABLE_PREFIX + TEST_CONN)


def _grant_revoked(sim: Any) -> bool:
    return any(g.revoked for g in sim.app.oauth.grants.values())


def test_expired_access_token_is_refreshed_transparently(sim: Any, connected: dict) -> None:
    # Tokens live an hour; the hook's clock is moved past it (no sleep: a short-lived token
    # could expire during a slow first call on a busy machine and be refreshed twice).
    sim.control.set_oauth(access_token_ttl=3600)
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    auth = hook.get_conn().auth
    now = [time.time()]
    auth.clock = lambda: now[0]
    assert "user.account.read" in hook.granted_scopes()
    assert auth.refresh_count == 1
    now[0] += 3601  # an hour later: the access token has expired
    hook.get_json("/v3/user/account")  # expired -> refreshed before the call
    assert auth.refresh_count == 2
    hook.get_json("/v3/user/credits")  # still valid: no refresh
    assert auth.refresh_count == 2
    sim.control.revoke_key(auth._access_token)  # the server forgets the access token: 401
    hook.get_json("/v3/user/profile")
    assert auth.refresh_count == 3
    assert hook.transport.status_counts == {200: 4, 401: 1}, sim.control.request_counts()
    assert not _grant_revoked(sim)


def test_rotated_refresh_token_is_persisted_and_used_by_the_next_task(
    sim: Any, connected: dict, airflow_home: Path
) -> None:
    sim.control.set_oauth(access_token_ttl=3600)
    first = SendGridHook(sendgrid_conn_id=TEST_CONN)
    first.get_json("/v3/user/account")
    stored = VariableTokenStore().load(TEST_CONN)
    assert stored.refresh_token != connected["refresh_token"]  # rotated
    second = SendGridHook(sendgrid_conn_id=TEST_CONN)  # "the next task", an hour later
    later = time.time() + 3601  # the stored access token has expired (no sleep: see above)
    second.get_conn().auth.clock = lambda: later
    second.get_json("/v3/user/account")
    assert second.get_conn().auth.refresh_count == 1
    assert VariableTokenStore().load(TEST_CONN).refresh_token != stored.refresh_token
    assert not _grant_revoked(sim), "a spent refresh token was presented again"
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        val, encrypted = db.execute(
            "select val, is_encrypted from variable where key = ?", (VARIABLE_PREFIX + TEST_CONN,)
        ).fetchone()
    assert encrypted
    assert stored.refresh_token not in val


def test_a_refresh_keeps_the_grant_whatever_scopes_the_connection_lists(
    sim: Any, tenant: dict, set_conn: Any
) -> None:
    """The refresh asks for no scope (RFC 6749 6: the grant's own): a connection listing fewer
    ``oauth_scopes`` than the server grants, which answers with the grant's scope, stored the
    rotated refresh token before oauthlib's scope-change ``Warning`` escaped it (the next
    refresh then spent the old token: a false "reconnect")."""
    token = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"],
                                   oauth_scopes=["user.account.read"]))  # fmt: skip
    try:
        hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
        assert hook.get_json("/v3/user/account")
        stored = VariableTokenStore().load(TEST_CONN)
        assert stored.refresh_token != token["refresh_token"]  # rotated, and kept
        assert hook.get_conn().auth.refresh_count == 1
    finally:
        from airflow.models import Variable

        Variable.delete(VARIABLE_PREFIX + TEST_CONN)


def test_connection_token_wins_after_reconnect(sim: Any, tenant: dict, connected: dict,
                                               set_conn: Any) -> None:  # fmt: skip
    SendGridHook(sendgrid_conn_id=TEST_CONN).get_json("/v3/user/account")
    sim.control.revoke_refresh_tokens(tenant["tenant_id"])
    fresh = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, fresh["refresh_token"]))
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    assert hook.get_json("/v3/user/account")
    assert hook.get_conn().auth.refresh_count == 1


def test_concurrent_refreshes_spend_the_token_once(sim: Any, connected: dict) -> None:
    hooks = [SendGridHook(sendgrid_conn_id=TEST_CONN) for _ in range(4)]
    barrier = threading.Barrier(len(hooks))
    errors: list[BaseException] = []

    def task(hook: SendGridHook) -> None:
        barrier.wait()
        try:
            hook.get_json("/v3/user/account")
            hook.get_json("/v3/user/credits")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=task, args=(h,)) for h in hooks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sum(h.get_conn().auth.refresh_count for h in hooks) == 1
    assert not _grant_revoked(sim)


def test_revoked_refresh_token_raises_reconnect_required(sim: Any, tenant: dict,
                                                         connected: dict) -> None:  # fmt: skip
    SendGridHook(sendgrid_conn_id=TEST_CONN).get_json("/v3/user/account")
    sim.control.revoke_refresh_tokens(tenant["tenant_id"])
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    with pytest.raises(ReconnectRequired) as info:
        hook.get_json("/v3/user/account")
    assert info.value.reason == "refresh_token_invalid"
    stored = json.loads(json.dumps(VariableTokenStore().load(TEST_CONN).to_json()))
    assert stored not in str(info.value)


def test_oauthlib_version_is_the_tested_one() -> None:
    import oauthlib
    import requests_oauthlib

    assert requests_oauthlib.__version__ == "2.0.0"
    assert oauthlib.__version__ in ("4.0.1", "3.3.1")
