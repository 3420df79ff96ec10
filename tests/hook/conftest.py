"""Fixtures of the hook tests: a live simulator, tenant connections, an SMTP server, OAuth."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

TEST_CONN = "sg_tenant"


@pytest.fixture
def sim() -> Iterator[Any]:
    """A fresh simulator per test (state is mutated by revocations, faults, limits)."""
    from sendgrid_simulator.testing import run_simulator

    with run_simulator(seed=42, scale="tiny") as running:
        yield running


@pytest.fixture
def tenant(sim: Any) -> dict[str, Any]:
    """The first simulated tenant (has subusers)."""
    return sim.tenant(0)


def conn_env(conn_id: str) -> str:
    """Environment variable that defines Airflow connection ``conn_id``."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def api_key_conn(sim: Any, key: str, **extra: Any) -> dict[str, Any]:
    """Connection JSON for an API key tenant on the simulator."""
    return {
        "conn_type": "sendgrid",
        "host": sim.base_url,
        "password": key,
        "description": "Acme Retail",
        "extra": {"auth_type": "api_key", **extra},
    }


def oauth_conn(sim: Any, tenant: dict[str, Any], refresh_token: str, **extra: Any) -> dict:
    """Connection JSON for an OAuth2 tenant on the simulator."""
    oauth = tenant["oauth"]
    return {
        "conn_type": "sendgrid",
        "host": sim.base_url,
        "extra": {
            "auth_type": "oauth2",
            "client_id": oauth["client_id"],
            "client_secret": oauth["client_secret"],
            "refresh_token": refresh_token,
            "display_name": tenant["name"],
            **extra,
        },
    }


@pytest.fixture
def set_conn(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, dict[str, Any]], None]:
    """Define an Airflow connection through ``AIRFLOW_CONN_<ID>`` for this test."""

    def _set(conn_id: str, body: dict[str, Any]) -> None:
        monkeypatch.setenv(conn_env(conn_id), json.dumps(body))

    return _set


def dag_bag(folder: Any, monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> Any:
    """A DAG file ``name`` with ``text`` in ``folder``, made the dags folder and synced to the
    metadata database (``dag.test()`` needs the serialized DAG); returns its ``DagBag``."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    (folder / name).write_text(text)
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(folder))
    sync_bag_to_db(bag, "dags-folder", None)
    return bag


def oauth_connect(sim: Any, tenant: dict[str, Any]) -> dict[str, Any]:
    """Run the authorization-code + PKCE flow like an admin would; return the token dict."""
    from requests_oauthlib import OAuth2Session

    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback simulator only
    oauth = tenant["oauth"]
    redirect_uri = "http://127.0.0.1:9/callback"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    params = {
        "response_type": "code",
        "client_id": oauth["client_id"],
        "redirect_uri": redirect_uri,
        "state": "s1",
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    }
    with requests.Session() as browser:
        url = f"{sim.base_url}/oauth/authorize"
        form = {**params, "action": "login", "username": oauth["login"]}
        form["password"] = oauth["password"]
        page = browser.post(url, data=form, timeout=10)
        ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)
        done = browser.post(
            url, data={"ticket": ticket, "decision": "approve"}, allow_redirects=False, timeout=10
        )
        code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
    session = OAuth2Session(client_id=oauth["client_id"], redirect_uri=redirect_uri)
    return session.fetch_token(
        f"{sim.base_url}/oauth/token",
        code=code,
        client_secret=oauth["client_secret"],
        code_verifier=verifier,
        include_client_id=True,
    )


@dataclass
class Mailbox:
    """Messages received by the test SMTP server."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subjects(self) -> list[str]:
        """Subjects of all received messages."""
        with self.lock:
            return [str(m["Subject"]) for m in self.messages]


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) registered as ``smtp_default``."""
    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with box.lock:
                box.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv(
        conn_env("smtp_default"),
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "airflow@example.com",
                    "retry_limit": 1,
                    "timeout": 10,
                },
            }
        ),
    )
    try:
        yield box
    finally:
        controller.stop()


def query(url: str) -> dict[str, list[str]]:
    """Parsed query string of ``url``."""
    return parse_qs(urlsplit(url).query)


__all__ = ["TEST_CONN", "api_key_conn", "oauth_conn", "oauth_connect", "query", "urlencode"]
