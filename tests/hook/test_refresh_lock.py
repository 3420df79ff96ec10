"""The OAuth refresh lock reaches the warehouse the way every other client does."""

from __future__ import annotations

import json
from typing import Any

import pytest


def test_the_refresh_lock_uses_the_warehouse_connection_s_tls_settings(
    airflow_home: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sslmode=verify-full`` and client certificates in the connection's extra reach the lock's
    connection too: without them the refresh token's lock would talk to the warehouse over
    unverified TLS, or fail where client certificates are required."""
    from sendgrid_hook.auth.refresh_lock import PostgresAdvisoryLock
    from sendgrid_hook.constants import WAREHOUSE_CONN_ID

    conn = json.loads(warehouse.airflow_connection_json())
    conn["host"] = "db.example"
    conn["extra"] = {"sslmode": "verify-full", "sslcert": "/etc/ssl/etl.crt", "other": "x"}
    monkeypatch.setenv(f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}", json.dumps(conn))
    info = PostgresAdvisoryLock()._conninfo()
    assert info is not None
    assert (info["sslmode"], info["sslcert"]) == ("verify-full", "/etc/ssl/etl.crt")
    assert info["keepalives"] == "1"
    assert "other" not in info


def test_the_refresh_lock_still_holds_on_the_test_warehouse(
    airflow_home: Any, warehouse: Any
) -> None:
    from sendgrid_hook.auth.refresh_lock import PostgresAdvisoryLock

    with PostgresAdvisoryLock().hold("acme"):
        pass
