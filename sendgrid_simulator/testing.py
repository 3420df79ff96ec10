"""Run the simulator in-process for tests: ``with run_simulator() as sim: ...``."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
import uvicorn

from .app import SimulatorApp, create_app
from .faults import FaultConfig
from .ratelimit import RateLimitConfig
from .truth import build_accounts


class SimulatorControl:
    """Small client of the ``/__sim/`` control API.

    Args:
        base_url: Simulator root URL, e.g. ``http://127.0.0.1:54321``.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def _get(self, path: str) -> Any:
        r = self.session.get(f"{self.base_url}/__sim/{path}", timeout=30)
        r.raise_for_status()
        return r.json()

    def _post(self, path: str, body: dict | None = None) -> Any:
        r = self.session.post(f"{self.base_url}/__sim/{path}", json=body or {}, timeout=30)
        r.raise_for_status()
        return r.json()

    def revoke_key(self, key: str) -> bool:
        """Revoke (delete) an API key or access token; True if it existed."""
        return self._post("keys/revoke", {"key": key})["revoked"]

    def drop_scopes(self, key: str, scopes: list[str]) -> list[str]:
        """Remove scopes from a key; return the remaining scopes."""
        return self._post("keys/drop_scopes", {"key": key, "scopes": list(scopes)})["scopes"]

    def revoke_refresh_tokens(self, tenant_id: str, access_tokens: bool = True) -> int:
        """Revoke every OAuth grant of a tenant; return how many."""
        body = {"tenant_id": tenant_id, "access_tokens": access_tokens}
        return self._post("oauth/revoke_refresh_tokens", body)["grants_revoked"]

    def set_oauth(self, access_token_ttl: int | None = None) -> dict:
        """Change OAuth settings (``access_token_ttl`` in seconds)."""
        body = {} if access_token_ttl is None else {"access_token_ttl": access_token_ttl}
        return self._post("oauth/config", body)

    def add_redirect_uri(self, client_id: str, redirect_uri: str) -> list[str]:
        """Register a non-loopback redirect URI for a client."""
        body = {"client_id": client_id, "redirect_uri": redirect_uri}
        return self._post("oauth/redirect_uris", body)["redirect_uris"]

    def set_faults(self, spec: str | dict | None = None, **knobs: Any) -> dict:
        """Replace the fault configuration.

        Args:
            spec: ``"500=0.1,slow=0.05"`` or ``{"500": 0.1}``; ``None`` clears all rates.
            **knobs: ``slow_seconds``, ``burst``, ``max_consecutive``, ``seed``,
                ``latency_seconds``.
        """
        if isinstance(spec, str):
            body: dict = {"spec": ",".join([spec, *(f"{k}={v}" for k, v in knobs.items())])}
        else:
            body = {**(spec or {}), **knobs}
        return self._post("faults", body)

    def clear_faults(self) -> dict:
        """Disable every fault."""
        return self._post("faults", {})

    def rate_limit(self) -> str:
        """The rate-limit rules in force, in the textual syntax of :meth:`set_rate_limit`."""
        return self._get("rate_limit")["spec"]

    def set_rate_limit(self, spec: str) -> str:
        """Replace rate limits (``"default=5/1s,/v3/stats=2/10s"``; ``"off"``)."""
        return self._post("rate_limit", {"spec": spec})["spec"]

    def advance(self, days: int = 1) -> dict:
        """Move the simulated clock forward; returns ``{"clock", "changes"}``."""
        return self._post("advance", {"days": days})

    def request_counts(self) -> dict:
        """``{"total", "by_endpoint", "by_tenant", "by_status", "faults"}``."""
        return self._get("requests")

    def reset_counts(self) -> dict:
        """Zero the request counters."""
        return self._post("requests/reset")

    def truth(self) -> dict:
        """The ground truth for the current state."""
        return self._get("truth")

    def accounts(self) -> dict:
        """The accounts document."""
        return self._get("accounts")

    def clock(self) -> dict:
        """``{"date", "start_date", "days_advanced", "now", "http_date"}``."""
        return self._get("clock")

    def poison(self, tenant_id: str, stream: str, key: str, kind: str, **extra: Any) -> list:
        """Poison one record (see :mod:`sendgrid_simulator.poison`); returns every poison."""
        body = {"tenant_id": tenant_id, "stream": stream, "key": key, "kind": kind, **extra}
        return self._post("poison", body)

    def clear_poisons(self) -> list:
        """Remove every poison."""
        return self._post("poison/clear")

    def delete_suppression(
        self, tenant_id: str, kind: str, index: int, after_requests: int = 0
    ) -> str:
        """Delete row ``index`` of the parent's list ``kind``, now or after more requests to it.

        Returns:
            The deleted row's e-mail address.
        """
        body = {"tenant_id": tenant_id, "kind": kind, "index": index,
                "after_requests": after_requests}  # fmt: skip
        return self._post("suppressions/delete", body)["email"]

    def restore_suppression(self, tenant_id: str, kind: str, index: int) -> str:
        """List deleted row ``index`` of the parent's list ``kind`` again (a row listed late).

        Returns:
            The row's e-mail address.
        """
        body = {"tenant_id": tenant_id, "kind": kind, "index": index}
        return self._post("suppressions/restore", body)["email"]

    def delete_row(
        self, tenant_id: str, stream: str, index: int, after_requests: int = 0, subuser: str = ""
    ) -> Any:
        """Delete row ``index`` of an offset-paged list, now or after more requests to it.

        ``stream``: ``teammates``, ``subusers``, ``api_keys`` (of ``subuser`` when given) or a
        suppression list; the rows after it move up one place.

        Returns:
            The deleted row's primary-key value (teammate username, subuser id, API key id,
            suppressed e-mail address).
        """
        body = {"tenant_id": tenant_id, "stream": stream, "index": index,
                "after_requests": after_requests, "subuser": subuser}  # fmt: skip
        return self._post("rows/delete", body)["key"]

    def rename_subuser(self, tenant_id: str, username: str, new_username: str) -> list[str]:
        """Rename a subuser before anything was read; returns the tenant's subusers."""
        body = {"tenant_id": tenant_id, "username": username, "new_username": new_username}
        return self._post("subusers/rename", body)["subusers"]


@dataclass
class RunningSimulator:
    """A simulator served by uvicorn in a background thread.

    Attributes:
        base_url: Root URL (``http://127.0.0.1:<port>``).
        accounts: The accounts document (same as the ``accounts`` CLI command).
        control: Control-API client.
        app: The ASGI app (its ``world`` holds the state, for white-box checks).
    """

    base_url: str
    accounts: dict
    control: SimulatorControl
    app: SimulatorApp

    def tenant(self, index: int = 0) -> dict:
        """Accounts entry of the ``index``-th tenant."""
        return self.accounts["tenants"][index]


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    """A listening-ready socket bound to a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def server_config(app: Any, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    """Uvicorn settings used everywhere (simulated ``Date`` header, no server banner)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        date_header=False,
        server_header=False,
        lifespan="off",
        http="httptools",
        timeout_keep_alive=30,
    )


@contextlib.contextmanager
def run_simulator(
    seed: int = 42,
    scale: str = "tiny",
    clock: dt.date | None = None,
    rate_limit: RateLimitConfig | str | None = None,
    faults: FaultConfig | str | None = None,
) -> Iterator[RunningSimulator]:
    """Start a simulator on a free ``127.0.0.1`` port for the duration of the block.

    Args:
        seed: Dataset seed.
        scale: ``tiny``, ``demo`` or ``large``.
        clock: Start date of the simulated clock (default: today, UTC).
        rate_limit: Rules or their textual syntax.
        faults: Fault configuration or its textual syntax.

    Yields:
        The running simulator.
    """
    if isinstance(rate_limit, str):
        rate_limit = RateLimitConfig.parse(rate_limit)
    if isinstance(faults, str):
        faults = FaultConfig.parse(faults)
    app = create_app(seed, scale, clock, rate_limit, faults)
    sock = free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        daemon=True,
        name=f"sendgrid-simulator-{port}",
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.005)
    base_url = f"http://127.0.0.1:{port}"
    try:
        yield RunningSimulator(base_url, build_accounts(app.world), SimulatorControl(base_url), app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
