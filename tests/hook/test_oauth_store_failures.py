"""Rotating refresh tokens survive a token store that fails and an admin reconnecting mid-run.

The simulator, like SendGrid-like servers, revokes a whole grant when a rotated (spent) refresh
token is presented again. So the hook must never send a spent token: not when the execution API
briefly fails to read the store (it used to read as "never refreshed" and send the connection's
spent seed), not when writing the rotated token fails (it used to exist nowhere), and not when an
admin reconnects while a task runs (the hook used to fall back to its old, spent seed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException, Request
from sendgrid_hook.auth import oauth2
from sendgrid_hook.auth.token_store import (
    VARIABLE_PREFIX,
    StoredToken,
    VariableTokenStore,
    binding_of,
    fingerprint,
)
from sendgrid_hook.hooks.sendgrid import SendGridHook

from tests.hook.conftest import TEST_CONN, dag_bag, oauth_conn, oauth_connect

OUTAGE_ENV = "SG_TEST_EXECUTION_API_VARIABLE_OUTAGE"


class _MemoryStore:
    """The token store fake of the other hook tests, whose writes can be made to fail."""

    def __init__(self, failures: int = 0) -> None:
        self.tokens: dict[str, StoredToken] = {}
        self.failures = failures
        self.writes = 0

    def load(self, conn_id: str) -> StoredToken | None:
        return self.tokens.get(conn_id)

    def save(self, conn_id: str, token: StoredToken) -> None:
        self.writes += 1
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the execution API is unavailable")
        self.tokens[conn_id] = token


class _NoLock:
    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        yield


def _grant_revoked(sim: Any) -> bool:
    return any(g.revoked for g in sim.app.oauth.grants.values())


@pytest.fixture
def connected(sim: Any, tenant: dict, set_conn: Any, monkeypatch: pytest.MonkeyPatch) -> dict:
    """An admin connected the tenant; failed token writes are retried without a long wait."""
    monkeypatch.setattr(oauth2, "SAVE_WAIT_SECONDS", 0.01, raising=False)
    token = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"]))
    return token


def _hook(store: _MemoryStore) -> SendGridHook:
    return SendGridHook(TEST_CONN, token_store=store, refresh_lock=_NoLock(), backoff_max=0.01)


def _expire(sim: Any, hook: SendGridHook) -> None:
    """The server forgets the hook's access token: its next request is answered 401."""
    sim.control.revoke_key(hook.get_conn().auth._access_token)


# -- 2. a failed write of the rotated token ------------------------------------------------------
def test_a_failed_write_is_retried_and_the_next_task_starts_from_it(
    sim: Any, connected: dict
) -> None:
    store = _MemoryStore(failures=2)
    hook = _hook(store)
    assert hook.get_json("/v3/user/account")
    assert store.writes == 3
    assert store.tokens[TEST_CONN].refresh_token == hook.get_conn().auth._refresh_token
    following = _hook(store)  # the next task
    sim.control.revoke_key(store.tokens[TEST_CONN].access_token)
    assert following.get_json("/v3/user/account")
    assert following.get_conn().auth.refresh_count == 1
    assert not _grant_revoked(sim)


def test_an_unwritable_store_never_costs_the_grant(sim: Any, connected: dict) -> None:
    """The rotated tokens stay in memory; refreshes start from them, neither from the spent seed
    nor from a stored token this task already spent; the first write that works stores them."""
    store = _MemoryStore()
    hook = _hook(store)
    auth = hook.get_conn().auth
    assert hook.get_json("/v3/user/account")  # stored
    spent = store.tokens[TEST_CONN]
    store.failures = 10**6
    for _ in range(2):
        _expire(sim, hook)
        assert hook.get_json("/v3/user/account")
    assert auth.refresh_count == 3
    assert store.tokens[TEST_CONN] is spent
    store.failures = 0
    _expire(sim, hook)
    assert hook.get_json("/v3/user/account")
    assert store.tokens[TEST_CONN].refresh_token == auth._refresh_token
    assert not _grant_revoked(sim)


def test_a_task_ending_before_its_next_refresh_stores_the_rotated_token_on_close(
    sim: Any, connected: dict
) -> None:
    """Every write of a rotated token failed, and the task ended before another refresh: the
    hook stores it when it closes. Before, it was lost with the task, the next task presented
    the spent refresh token, and SendGrid revoked the grant."""
    store = _MemoryStore()
    hook = _hook(store)
    assert hook.get_json("/v3/user/account")
    store.failures = oauth2.SAVE_ATTEMPTS  # every write of the next rotation fails
    _expire(sim, hook)
    assert hook.get_json("/v3/user/account")
    rotated = hook.get_conn().auth._refresh_token
    assert store.tokens[TEST_CONN].refresh_token != rotated
    hook.close()  # the task ends
    assert store.tokens[TEST_CONN].refresh_token == rotated
    following = _hook(store)  # the next task, once the access token expired
    sim.control.revoke_key(store.tokens[TEST_CONN].access_token)
    assert following.get_json("/v3/user/account")
    assert following.get_conn().auth.refresh_count == 1
    assert not _grant_revoked(sim)


def test_a_first_write_that_fails_leaves_the_seed_alone(sim: Any, connected: dict) -> None:
    store = _MemoryStore(failures=10**6)
    hook = _hook(store)
    assert hook.get_json("/v3/user/account")
    _expire(sim, hook)
    assert hook.get_json("/v3/user/account")
    assert hook.get_conn().auth.refresh_count == 2
    assert store.tokens == {}
    assert not _grant_revoked(sim)


# -- 3. an admin reconnects while a task runs ----------------------------------------------------
@pytest.mark.usefixtures("airflow_home", "warehouse")
def test_a_reconnect_during_the_run_is_followed(sim: Any, tenant: dict, set_conn: Any) -> None:
    from airflow.models import Variable

    first = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, first["refresh_token"]))
    try:
        hook = SendGridHook(sendgrid_conn_id=TEST_CONN)  # the running task
        assert hook.get_json("/v3/user/account")
        assert VariableTokenStore().load(TEST_CONN).seed_fingerprint == fingerprint(
            first["refresh_token"]
        )
        # the admin reconnects: the Connect page writes the connection and the token store
        fresh = oauth_connect(sim, tenant)
        set_conn(TEST_CONN, oauth_conn(sim, tenant, fresh["refresh_token"]))
        VariableTokenStore().save(TEST_CONN, StoredToken(
            refresh_token=fresh["refresh_token"], access_token=fresh["access_token"],
            expires_at=fresh["expires_at"], rotated_at=fresh["expires_at"] - 3600,
            seed_fingerprint=fingerprint(fresh["refresh_token"]),
            binding=binding_of(sim.base_url, f"{sim.base_url}/oauth/token",
                               tenant["oauth"]["client_id"]),
        ))  # fmt: skip
        _expire(sim, hook)  # the task's access token stops working
        assert hook.get_json("/v3/user/credits")
        stored = VariableTokenStore().load(TEST_CONN)
        assert (stored.refresh_token, stored.access_token) == (
            fresh["refresh_token"], fresh["access_token"]
        )  # fmt: skip
        _expire(sim, hook)  # and the new grant's, later: refreshed within the new grant
        assert hook.get_json("/v3/user/profile")
        stored = VariableTokenStore().load(TEST_CONN)
        assert stored.seed_fingerprint == fingerprint(fresh["refresh_token"])
        assert stored.refresh_token not in (first["refresh_token"], fresh["refresh_token"])
        assert hook.get_conn().auth.refresh_count == 2
        assert not _grant_revoked(sim), "a spent refresh token was presented"
    finally:
        Variable.delete(VARIABLE_PREFIX + TEST_CONN)


# -- 1. the execution API briefly fails to read the store ----------------------------------------
DAG_FILE = f'''
import datetime as dt
import os

from airflow.sdk import DAG, task

with DAG("hook_store_outage", schedule=None, start_date=dt.datetime(2026, 11, 1)) as dag:

    @task
    def extract(outage: bool) -> str:
        from sendgrid_hook.hooks.sendgrid import SendGridHook

        if outage:
            os.environ["{OUTAGE_ENV}"] = "1"
        try:
            hook = SendGridHook(sendgrid_conn_id="{TEST_CONN}")
            hook.get_json("/v3/user/account")
            return f"ok, {{hook.get_conn().auth.refresh_count}} refresh"
        except Exception as exc:
            return type(exc).__name__
        finally:
            os.environ.pop("{OUTAGE_ENV}", None)

    first = extract.override(task_id="first")(False)
    first >> extract.override(task_id="second")(True) >> extract.override(task_id="third")(False)
'''


@contextmanager
def _variable_reads_failing_while_flagged() -> Iterator[None]:
    """The execution API answers 503 to token-store reads while a task sets ``OUTAGE_ENV``."""
    from airflow.api_fastapi.execution_api.routes.variables import has_variable_access
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    async def flaky(request: Request) -> bool:
        key = str(request.path_params.get("variable_key", ""))
        if (
            request.method == "GET"
            and key.startswith(VARIABLE_PREFIX)
            and os.environ.get(OUTAGE_ENV)
        ):
            raise HTTPException(503, "the API server is restarting")
        return True

    overrides = in_process_api_server().app.dependency_overrides
    before = overrides.get(has_variable_access)
    overrides[has_variable_access] = flaky
    try:
        yield
    finally:
        if before is None:
            overrides.pop(has_variable_access, None)
        else:
            overrides[has_variable_access] = before


@pytest.mark.usefixtures("airflow_home", "warehouse")
def test_a_failed_read_of_the_store_in_a_task_is_retriable_not_a_reconnect(
    sim: Any, tenant: dict, set_conn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Task 2 cannot read the stored token: it fails retriably and spends nothing, and task 3
    carries on from task 1's token (it used to send the spent seed: grant revoked)."""
    from airflow.models import Variable

    token = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"]))
    bag = dag_bag(tmp_path, monkeypatch, "hook_store_outage.py", DAG_FILE)
    try:
        with _variable_reads_failing_while_flagged():
            run = bag.get_dag("hook_store_outage").test()
        results = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}
        assert results == {"first": "ok, 1 refresh", "second": "SendGridRetriableError",
                           "third": "ok, 0 refresh"}  # fmt: skip
        assert not _grant_revoked(sim), "the spent seed was presented again"
    finally:
        Variable.delete(VARIABLE_PREFIX + TEST_CONN)


def test_a_failed_read_of_the_metadata_database_is_retriable_not_a_reconnect(
    sim: Any, connected: dict, airflow_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a task (the Connect page's health check, the Test button), the store is the
    metadata database: ``Variable.get`` logged a failed query and answered "no token", and the
    hook sent the spent seed (grant revoked). Now the read failing is a retriable error."""
    import airflow.utils.session
    from airflow.models import Variable
    from sendgrid_hook.errors import SendGridRetriableError
    from sqlalchemy.exc import OperationalError

    Variable.delete(VARIABLE_PREFIX + TEST_CONN)
    first = SendGridHook(TEST_CONN, token_store=VariableTokenStore(), refresh_lock=_NoLock())
    assert first.get_json("/v3/user/account")  # refreshed: the seed is spent, its successor stored
    second = SendGridHook(TEST_CONN, token_store=VariableTokenStore(), refresh_lock=_NoLock(),
                          backoff_max=0.01)  # fmt: skip

    def unreachable() -> Any:
        raise OperationalError("select", {}, Exception("database is locked"))

    try:
        with monkeypatch.context() as patched:
            patched.setattr(airflow.utils.session, "create_session", unreachable)
            with pytest.raises(SendGridRetriableError, match="metadata database"):
                second.get_json("/v3/user/account")
        assert not _grant_revoked(sim), "the spent seed was presented again"
        assert second.get_json("/v3/user/account")  # the database is back: the stored token
    finally:
        Variable.delete(VARIABLE_PREFIX + TEST_CONN)


# -- 5. plain http to a loopback token endpoint -------------------------------------------------
def test_insecure_transport_is_allowed_around_the_hook_s_token_request_only(
    sim: Any, connected: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """oauthlib's switch for plain http is process-wide: the hook sets it around its own token
    request to the loopback simulator and leaves the process as it found it."""
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)  # oauth_connect set it
    hook = _hook(_MemoryStore())
    assert hook.get_json("/v3/user/account")
    assert hook.get_conn().auth.refresh_count == 1
    assert os.environ.get("OAUTHLIB_INSECURE_TRANSPORT") is None
