"""The stored OAuth tokens of a connection id serve only the connection they were issued for.

Airflow 3.3's ``POST /api/v2/connections/enqueue-test`` has a worker test a caller's body under
the *real* connection id, with nothing merged from the stored connection; the token store is
keyed by that id. A body naming another API host or token URL, with no refresh token of its
own, must get neither the stored access token (sent to its host) nor the stored refresh token
(sent to its token URL). Each test runs a real :class:`SendGridHook` against a recording
server on a local socket.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from sendgrid_hook.auth.token_store import StoredToken, binding_of, fingerprint
from sendgrid_hook.hooks.sendgrid import SendGridHook

from tests.hook.fake_api import JsonHandler

CONN = "sg_bound"
SEED = "rt-seed-of-the-real-connection"
STORED_ACCESS = "at-stored-for-the-real-connection"
STORED_REFRESH = "rt-rotated-for-the-real-connection"
CLIENT = ("real-client", "real-secret")


class _Recorder(JsonHandler):
    """Records every request (path, ``Authorization``, body); a SendGrid-like answer."""

    seen: list[dict[str, str]]

    def _record(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode(errors="replace") if length else ""
        self.seen.append({"path": self.path, "auth": self.headers.get("Authorization", ""),
                          "body": body})  # fmt: skip
        return body

    def do_GET(self) -> None:
        self._record()
        self.send(200, json.dumps({"scopes": ["user.account.read"]}).encode(), {})

    def do_POST(self) -> None:
        self._record()
        token = {"access_token": "at-new", "refresh_token": "rt-new", "token_type": "Bearer",
                 "expires_in": 3600}  # fmt: skip
        self.send(200, json.dumps(token).encode(), {})


@contextmanager
def _server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()


class _MemoryStore:
    def __init__(self) -> None:
        self.tokens: dict[str, StoredToken] = {}

    def load(self, conn_id: str) -> StoredToken | None:
        return self.tokens.get(conn_id)

    def save(self, conn_id: str, token: StoredToken) -> None:
        self.tokens[conn_id] = token


class _NoLock:
    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        yield


@pytest.fixture
def real() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """The real connection's API host (and token endpoint)."""
    with _server() as served:
        yield served


@pytest.fixture
def evil() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A host and token endpoint of the caller's choosing."""
    with _server() as served:
        yield served


def _oauth_body(host: str, refresh_token: str | None, client=CLIENT, **extra: Any) -> dict:
    fields = {"auth_type": "oauth2", "client_id": client[0], "client_secret": client[1],
              "refresh_token": refresh_token, **extra}  # fmt: skip
    return {"conn_type": "sendgrid", "host": host,
            "extra": {k: v for k, v in fields.items() if v is not None}}  # fmt: skip


def _stored(host: str, expired: bool = False, bound: bool = True) -> StoredToken:
    """The token the real connection's tasks stored (``bound=False``: written before bindings)."""
    import time

    now = time.time()
    return StoredToken(
        refresh_token=STORED_REFRESH,
        access_token=STORED_ACCESS,
        expires_at=now - 60 if expired else now + 3600,
        rotated_at=now - 3700 if expired else now,
        seed_fingerprint=fingerprint(SEED),
        binding=binding_of(host, f"{host}/oauth/token", CLIENT[0]) if bound else None,
    )


def _hook(set_conn: Callable, body: dict, store: _MemoryStore) -> SendGridHook:
    set_conn(CONN, body)
    return SendGridHook(CONN, token_store=store, refresh_lock=_NoLock(), backoff_max=0.01)


def _leaked(seen: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in seen if STORED_ACCESS in r["auth"] or STORED_REFRESH in r["body"]]


@pytest.mark.parametrize("expired", [False, True], ids=["access-token", "refresh-token"])
@pytest.mark.parametrize("target", ["host", "token_url"])
def test_a_body_without_the_seed_never_gets_the_stored_tokens(
    set_conn: Callable, real: tuple, evil: tuple, expired: bool, target: str
) -> None:
    """No refresh token in the body, a foreign host or token URL: the stored access token is not
    sent to that host, the stored refresh token not to that token URL, nothing is stored."""
    store = _MemoryStore()
    store.save(CONN, before := _stored(real[0], expired=expired))
    if target == "host":  # the caller's API host (its token URL follows it)
        body = _oauth_body(evil[0], None, client=("attacker", "attacker-secret"))
    else:  # the real API host, the caller's token URL
        body = _oauth_body(real[0], None, token_url=f"{evil[0]}/token")
    ok, message = _hook(set_conn, body, store).test_connection()
    assert _leaked(evil[1] + real[1]) == []
    assert evil[1] == []
    assert store.load(CONN) is before
    assert not ok
    assert "not_connected" in message, message


def test_a_body_with_the_seed_but_another_endpoint_never_gets_the_stored_tokens(
    set_conn: Callable, real: tuple, evil: tuple
) -> None:
    """Even knowing the (spent) seed refresh token, a body naming another host or client does
    not get the stored access token or the rotated refresh token, and the spent seed is not
    replayed either: an admin who edited the endpoint is told to reconnect."""
    store = _MemoryStore()
    before = _stored(real[0])
    store.save(CONN, before)
    ok, message = _hook(set_conn, _oauth_body(evil[0], SEED), store).test_connection()
    assert not ok
    assert "endpoint_changed" in message, message
    assert evil[1] == []  # no request at all: no token, no seed
    ok, message = _hook(set_conn, _oauth_body(real[0], SEED, client=("other", "x")), store
                        ).test_connection()  # fmt: skip
    assert not ok
    assert "endpoint_changed" in message, message
    assert _leaked(real[1]) == []
    assert [r for r in real[1] if r["path"] == "/oauth/token"] == []
    assert store.load(CONN) is before


def test_the_real_connection_still_uses_its_stored_tokens(set_conn: Callable, real: tuple) -> None:
    """The connection the tokens were issued for adopts them, bound or written before bindings
    existed (same seed); a refresh records the binding."""
    for bound in (True, False):
        store = _MemoryStore()
        store.save(CONN, _stored(real[0], bound=bound))
        _ok, message = _hook(set_conn, _oauth_body(real[0], SEED), store).test_connection()
        assert message.startswith("Connected to SendGrid"), message
        assert real[1][-1]["auth"] == f"Bearer {STORED_ACCESS}"
    store = _MemoryStore()
    store.save(CONN, _stored(real[0], expired=True))
    _ok, message = _hook(set_conn, _oauth_body(real[0], SEED), store).test_connection()
    assert message.startswith("Connected to SendGrid"), message
    refresh = [r for r in real[1] if r["path"] == "/oauth/token"][-1]
    assert STORED_REFRESH in refresh["body"]
    saved = store.load(CONN)
    assert saved.refresh_token == "rt-new"
    assert saved.binding == binding_of(real[0], f"{real[0]}/oauth/token", CLIENT[0])
