"""``POST /api/v2/connections/enqueue-test`` cannot turn a connection id's stored OAuth tokens
against it.

Airflow 3.3 queues the body for a worker, which tests it *under the real connection id* with
nothing merged from the stored connection, for any user who may create connections. The hook's
token store is keyed by that id: an OAuth body naming the caller's host or token URL would have
the stored access token sent to that host, the stored refresh token to that token URL, or the
stored tokens replaced by the caller's. The API server's middleware marks such bodies as test
copies, which the hook declines.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from sendgrid_hook.constants import TEST_COPY_EXTRA

from .conftest import new_conn_id

ENQUEUE_PATH = "/api/v2/connections/enqueue-test"


def _through_middleware(path: str, body: dict, method: str = "POST") -> dict | None:
    """The JSON body the API server's app receives after the middleware (None: not called)."""
    from sendgrid_connect.connection_test import SendGridConnectionTestMiddleware

    received: list[bytes] = []

    async def app(scope, receive, send) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        received.append(b"".join(chunks))

    async def receive() -> dict:
        return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}

    async def send(message) -> None:  # pragma: no cover - the fake app answers nothing
        pass

    scope = {"type": "http", "method": method, "path": path, "headers": []}
    asyncio.run(SendGridConnectionTestMiddleware(app)(scope, receive, send))
    return json.loads(received[0]) if received else None


def _body(conn_id: str, **extra) -> dict:
    return {"connection_id": conn_id, "conn_type": "sendgrid", "host": "http://127.0.0.1:9",
            "extra": json.dumps(extra)}  # fmt: skip


def test_enqueued_oauth_bodies_are_marked_as_test_copies() -> None:
    for extra in ({"auth_type": "oauth2", "token_url": "https://evil.example/token"},
                  {"extra__sendgrid__auth_type": " OAuth2 "},
                  {"auth_type": "api_key", "extra__sendgrid__auth_type": "oauth2"},
                  {"auth_type": 1}):  # fmt: skip
        seen = _through_middleware(ENQUEUE_PATH, _body("victim", **extra))
        assert json.loads(seen["extra"]) == {**extra, TEST_COPY_EXTRA: True}, extra
        seen = _through_middleware(ENQUEUE_PATH + "/", _body("victim", **extra))
        assert json.loads(seen["extra"])[TEST_COPY_EXTRA] is True
    # an API key body touches no stored token (and a committed test keeps its extras clean)
    for extra in ({}, {"auth_type": "api_key"}, {"extra__sendgrid__auth_type": "API_KEY"}):
        body = _body("victim", **extra)
        assert _through_middleware(ENQUEUE_PATH, body) == body
    other = {**_body("x", auth_type="oauth2"), "conn_type": "http"}
    assert _through_middleware(ENQUEUE_PATH, other) == other
    # polling the queued test (GET) passes through as it is
    assert _through_middleware(ENQUEUE_PATH, _body("v", auth_type="oauth2"), "GET") == _body(
        "v", auth_type="oauth2"
    )


@contextmanager
def _recording_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode(errors="replace") if length else ""
            seen.append(f"{self.command} {self.path} {self.headers.get('Authorization')} {body}")
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()


def test_an_enqueued_oauth_test_never_reaches_the_stored_tokens(api_server) -> None:
    """Over REST, then as the worker runs it: the queued body is marked, the hook declines it,
    the caller's host and token URL receive nothing and the stored tokens stay as they were."""
    import os
    import time

    from airflow.models import Connection, Variable
    from airflow.models.connection_test import ConnectionTestRequest
    from airflow.utils.session import create_session
    from sendgrid_hook.auth.token_store import StoredToken, VariableTokenStore, fingerprint
    from sqlalchemy import select

    conn_id = new_conn_id("sg_enqueue")
    stored = StoredToken(refresh_token="rt-stored-victim", access_token="at-stored-victim",
                         expires_at=time.time() + 3600, rotated_at=time.time(),
                         seed_fingerprint=fingerprint("rt-seed-victim"))  # fmt: skip
    with create_session() as session:
        session.add(Connection(conn_id=conn_id, conn_type="sendgrid", host="https://api.sendgrid.com",
                               extra=json.dumps({"auth_type": "oauth2", "client_id": "cid",
                                                 "client_secret": "cs",
                                                 "refresh_token": "rt-seed-victim"})))  # fmt: skip
    VariableTokenStore().save(conn_id, stored)
    headers = {"Authorization": f"Bearer {api_server.token('admin')}"}
    with _recording_server() as (evil, seen):
        extra = {"auth_type": "oauth2", "client_id": "attacker", "client_secret": "x",
                 "token_url": f"{evil}/token"}  # fmt: skip
        body = {"connection_id": conn_id, "conn_type": "sendgrid", "host": evil,
                "extra": json.dumps(extra)}  # fmt: skip
        r = requests.post(f"{api_server.base_url}{ENQUEUE_PATH}", json=body, headers=headers,
                          timeout=60)  # fmt: skip
        assert r.status_code == 202, r.text
        with create_session() as session:
            queued = session.scalar(
                select(ConnectionTestRequest).filter_by(token=r.json()["token"])
            )
            worker_conn = queued.to_connection()
            session.delete(queued)
        assert json.loads(worker_conn.extra)[TEST_COPY_EXTRA] is True
        # what the worker does (airflow.sdk.execution_time.connection_test_supervisor)
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        os.environ[key] = worker_conn.get_uri()
        try:
            ok, message = worker_conn.test_connection()
        finally:
            del os.environ[key]
        assert seen == []
        assert not ok
        assert message.startswith("Not tested here: this is an OAuth connection"), message
    after = VariableTokenStore().load(conn_id)
    assert (after.refresh_token, after.access_token) == (stored.refresh_token, stored.access_token)
    Variable.delete(VariableTokenStore().key(conn_id))
