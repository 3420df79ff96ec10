"""A real ``airflow api-server`` (plugin loaded) + the SendGrid simulator + a warehouse database.

The API server is a subprocess on a free port using the session's isolated Airflow home
(SQLite metadata DB shared with this process, so tests can create connections and read what
the page stored), SimpleAuthManager with two users (``admin`` Admin, ``viewer`` Viewer, fixed
passwords in a passwords file), a fixed API secret key and JWT secret, and the warehouse
connection in the environment. It runs in its own process group and is killed with its
children when the session ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from sendgrid_elt.postgres_target import PostgresTarget
from tests.scratch_db import scratch_database

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "connect_page"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip
USERS = {"admin": ("admin", "admin-pw-connect"), "viewer": ("viewer", "viewer-pw-connect")}
SERVER_ENV = {
    "AIRFLOW__API__SECRET_KEY": "connect-page-test-secret-" + uuid.uuid4().hex,
    "AIRFLOW__API_AUTH__JWT_SECRET": "connect-page-test-jwt-" + uuid.uuid4().hex,
    "AIRFLOW__CORE__AUTH_MANAGER": (
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    ),
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in USERS.items()),
}


@dataclass
class ApiServer:
    """The running API server."""

    base_url: str
    log_path: Path

    def session(self, user: str | None = "admin") -> requests.Session:
        """A requests session signed in as ``user`` (``_token`` cookie, like the UI)."""
        s = requests.Session()
        if user:
            s.cookies.set("_token", self.token(user), domain="127.0.0.1", path="/")
        return s

    def token(self, user: str) -> str:
        """JWT of ``user`` from ``POST /auth/token``."""
        r = requests.post(
            f"{self.base_url}/auth/token",
            json={"username": user, "password": USERS[user][1]},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()["access_token"]

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server log (for failure messages)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def connect_warehouse(postgres_server: PostgresTarget) -> Iterator[PostgresTarget]:
    """A fresh warehouse database for the Connect page tests (session-wide)."""
    with scratch_database(postgres_server, "test_connect") as target:
        yield target


@pytest.fixture(scope="session")
def sim() -> Iterator:
    """The SendGrid simulator (OAuth server included), in a thread of this process."""
    from sendgrid_simulator.testing import run_simulator

    with run_simulator() as running:
        yield running


@pytest.fixture(scope="session")
def api_server(
    airflow_home: Path, connect_warehouse: PostgresTarget, tmp_path_factory
) -> Iterator[ApiServer]:
    """``airflow api-server`` with the Connect page plugin, signed-in users and a warehouse."""
    from sendgrid_elt.warehouse import WAREHOUSE_CONN_ENV

    work = tmp_path_factory.mktemp("connect-api-server")
    passwords = work / "passwords.json"
    passwords.write_text(json.dumps({u: pw for u, (_, pw) in USERS.items()}))
    overrides = {
        **SERVER_ENV,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        WAREHOUSE_CONN_ENV: connect_warehouse.airflow_connection_json(),
    }
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)  # this process signs/reads with the same secret and warehouse
    port = _free_port()
    log_path = work / "api-server.log"
    log_file = log_path.open("wb")
    argv = [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        env=os.environ.copy(),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = ApiServer(f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_healthy(proc, server, timeout=120)
        yield server
    finally:
        _stop(proc)
        log_file.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _wait_healthy(proc: subprocess.Popen, server: ApiServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"api-server exited ({proc.returncode}):\n{server.log_tail()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{server.base_url}/api/v2/monitor/health", timeout=2).ok:
                return
        time.sleep(0.5)
    raise RuntimeError(f"api-server not healthy after {timeout}s:\n{server.log_tail()}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# -- helpers shared by the test modules ---------------------------------------------------
def new_conn_id(prefix: str) -> str:
    """A connection id no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def create_tenant_connection(conn_id: str, sim, index: int = 0, oauth: bool = True) -> dict:
    """Store a ``sendgrid`` connection for simulator tenant ``index`` (no credential yet)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    tenant = sim.tenant(index)
    extra = {"display_name": tenant["name"], "auth_type": "oauth2" if oauth else "api_key"}
    if oauth:
        extra |= {
            "client_id": tenant["oauth"]["client_id"],
            "client_secret": tenant["oauth"]["client_secret"],
        }
    with create_session() as session:
        session.add(
            Connection(
                conn_id=conn_id,
                conn_type="sendgrid",
                host=sim.base_url,
                description=tenant["name"],
                extra=json.dumps(extra),
            )
        )
    return tenant


def connection_extra(conn_id: str) -> dict:
    """The stored extras of ``conn_id`` (read in this process from the metadata DB)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        conn = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        return {"extra": conn.extra_dejson, "password": conn.password}


def open_invite(session: requests.Session, link: str) -> requests.Response:
    """Open an invite link as a browser does: the fragment (the token) is not sent; the page at
    the link's URL posts it (its script, done here by hand). Returns the landing page."""
    url, _, token = link.partition("#")
    opener = session.get(url, timeout=30)
    assert opener.status_code == 200, opener.text[:300]
    action = re.search(r'<form id="invite-open" method="post" action="([^"]+)"', opener.text)
    assert action, "no invite-open form on the page"
    return session.post(urljoin(url, action.group(1)), data={"token": token}, timeout=30)


def continue_invite(session: requests.Session, link: str, landing: str) -> requests.Response:
    """Click "Continue to SendGrid" on the invite landing page ``landing`` (not followed)."""
    action = re.search(r'<form method="post" action="([^"]+)"', landing)
    assert action, "no Continue form on the page"
    return session.post(urljoin(link, action.group(1)), data={"csrf": csrf_of(landing)},
                        allow_redirects=False, timeout=30)  # fmt: skip


def csrf_of(html: str) -> str:
    """The CSRF token of a rendered page."""
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def status_of(html: str, conn_id: str) -> str | None:
    """The ``data-status`` of ``conn_id`` on the list page."""
    match = re.search(rf'id="status-{re.escape(conn_id)}"[^>]*data-status="([^"]+)"', html)
    return match.group(1) if match else None


def sign_in(page, base_url: str, next_path: str, user: str = "admin") -> None:
    """Sign in through SimpleAuthManager's own login page and land on ``next_path``."""
    page.goto(f"{base_url}/auth/login?next={next_path}")
    page.fill("input[name=username]", USERS[user][0])
    page.fill("input[name=password]", USERS[user][1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path}**")


def account_of(sim, key: str) -> dict:
    """``GET /v3/user/username`` with ``key``: the account it reaches (user id and username)."""
    r = requests.get(f"{sim.base_url}/v3/user/username", timeout=10,
                     headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    r.raise_for_status()
    return r.json()


#: The columns of ``dim_sendgrid_tenants`` the Connect page reads, in the order of a row below.
DIMENSION_COLUMNS = ("tenant_id", "sendgrid_user_id", "sendgrid_username",
                     "duplicate_of_tenant_id", "subuser_of_tenant_id", "is_removed")  # fmt: skip
#: The columns of ``dim_sendgrid_subusers`` the Connect page reads, in the order of a row below.
SUBUSER_COLUMNS = ("tenant_id", "subuser_id", "subuser_username", "is_deleted")


@contextlib.contextmanager
def mart_rows(
    warehouse: PostgresTarget, model: str, columns: tuple[str, ...], rows: list[tuple]
) -> Iterator[None]:
    """The mart ``model`` as the transform leaves it: the table from the model's dbt contract
    (a renamed or retyped column fails here as it would on the real marts), filled in
    ``columns``. Dropped on exit."""
    import psycopg
    from psycopg import sql

    from sendgrid_elt.settings import MARTS_SCHEMA
    from tests.dashboard.marts_schema import create_mart, insert, mart_columns

    contract = {name for name, _, _ in mart_columns()[model]}
    assert set(columns) <= contract, set(columns) - contract
    with psycopg.connect(warehouse.conninfo()) as conn:
        create_mart(conn, model, not_null=False)
        insert(conn, model, [dict(zip(columns, row, strict=True)) for row in rows])
    try:
        yield
    finally:
        with psycopg.connect(warehouse.conninfo()) as conn:
            conn.execute(sql.SQL("drop table {}").format(sql.Identifier(MARTS_SCHEMA, model)))


def tenant_dimension(
    warehouse: PostgresTarget, rows: list[tuple]
) -> contextlib.AbstractContextManager[None]:
    """``dim_sendgrid_tenants`` with ``rows`` (each: :data:`DIMENSION_COLUMNS`)."""
    return mart_rows(warehouse, "dim_sendgrid_tenants", DIMENSION_COLUMNS, rows)


def subuser_inventory(
    warehouse: PostgresTarget, rows: list[tuple]
) -> contextlib.AbstractContextManager[None]:
    """``dim_sendgrid_subusers`` with ``rows`` (each: :data:`SUBUSER_COLUMNS`)."""
    return mart_rows(warehouse, "dim_sendgrid_subusers", SUBUSER_COLUMNS, rows)


@contextlib.contextmanager
def admin_browser(api_server, next_path: str = "/sendgrid/connections") -> Iterator:
    """A headless Chromium page signed in as the admin, on ``next_path``."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(30_000)
            sign_in(page, api_server.base_url, next_path)
            yield page
        finally:
            browser.close()
