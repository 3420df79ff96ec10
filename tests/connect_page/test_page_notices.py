"""What the Connect page says when it cannot read, check or find something, and where it links."""

from __future__ import annotations

import pytest
from starlette.requests import Request


def test_an_unreachable_warehouse_shows_health_unknown(airflow_home, monkeypatch) -> None:
    """With the warehouse down, a tenant that needs reconnecting must not read as one that was
    never connected: its row says the health is unknown (before: "Never connected")."""
    from sendgrid_connect import access, health, page_responses, tenants

    from sendgrid_elt import connection_health

    def unreachable() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(connection_health, "health_engine", unreachable)
    assert health.read_all() is None
    tenant = tenants.Tenant("acme_down", "Acme", "api_key", "https://api.sendgrid.com",
                            oauth_ready=False, has_credential=True)  # fmt: skip
    monkeypatch.setattr(tenants, "list_tenants", lambda: [tenant])
    monkeypatch.setattr(access, "readable_connections", lambda user: {"acme_down"})
    monkeypatch.setattr(access, "user_id", lambda user: "admin")
    request = Request({"type": "http", "method": "GET", "path": "/sendgrid/connections",
                       "root_path": "", "headers": [], "query_string": b""})  # fmt: skip
    page = page_responses.list_page(request, None, None)
    assert 'data-status="unknown">Health unknown</span>' in page
    assert "Never connected" not in page


def test_a_failed_check_after_saving_is_a_warning_not_connected(airflow_home) -> None:
    """A credential saved whose check then failed (a 401 on the new token records
    needs_reconnect, then raises) is not announced as "Connected"."""
    from sendgrid_connect import health

    check = health.Check(
        False, "health check failed: ReconnectRequired", failed="ReconnectRequired"
    )
    kind, text, disabled = health.connected_flash("acme", " with an API key", check)
    assert kind == "warn"
    assert text.startswith("Saved the credential for acme with an API key, but checking it failed")
    assert "(ReconnectRequired)" in text
    assert "Connected" not in text
    assert disabled == {}


def test_a_reconnect_link_to_a_connection_not_stored_here_says_where_to_reconnect(
    airflow_home, monkeypatch
) -> None:
    """A reconnect alert for a tenant defined as ``AIRFLOW_CONN_*`` (or in a secrets backend)
    links here, where it has no row: the page says so and where to reconnect it (before, the
    unknown ``tenant`` was silently ignored)."""
    from sendgrid_connect import access, page_responses, tenants

    monkeypatch.setattr(tenants, "list_tenants", lambda: [])
    monkeypatch.setattr(access, "readable_connections", lambda user: set())
    monkeypatch.setattr(access, "user_id", lambda user: "admin")
    request = Request({"type": "http", "method": "GET", "path": "/sendgrid/connections",
                       "root_path": "", "headers": [], "query_string": b""})  # fmt: skip
    page = page_responses.list_page(request, None, None, focus="env_only")
    assert 'id="focus-missing"' in page
    assert "<strong>env_only</strong>" in page
    assert "AIRFLOW_CONN_" in page
    assert 'id="focus-missing"' not in page_responses.list_page(request, None, None)


@pytest.mark.parametrize(("root", "login"), [
    ("/sendgrid", "/auth/login?next=%2Fsendgrid%2Fconnections"),
    ("/airflow/sendgrid", "/airflow/auth/login?next=%2Fairflow%2Fsendgrid%2Fconnections"),
])  # fmt: skip
def test_the_sign_in_link_follows_airflow_s_sub_path(airflow_home, root: str, login: str) -> None:
    """Under an ``[api] base_url`` with a sub-path, Airflow's sign-in page lives under it too
    (before, the link always pointed at ``/auth/login``: a 404 there)."""
    from sendgrid_connect.app import create_app
    from starlette.testclient import TestClient

    with TestClient(create_app(), root_path=root) as client:
        page = client.get("/connections")
    assert page.status_code == 401
    assert f'id="login" href="{login}"' in page.text


def test_signing_in_from_an_alert_link_returns_to_that_tenant(airflow_home) -> None:
    """An alert's link names its tenant (``?tenant=``): after signing in, the admin lands on
    that tenant's row, not on the bare list (before, ``next`` always named the list)."""
    from sendgrid_connect.app import create_app
    from starlette.testclient import TestClient

    with TestClient(create_app(), root_path="/sendgrid") as client:
        page = client.get("/connections", params={"tenant": "acme#eu"})
    assert page.status_code == 401
    login = "/auth/login?next=%2Fsendgrid%2Fconnections%3Ftenant%3Dacme%2523eu"
    assert f'id="login" href="{login}"' in page.text


def test_a_run_that_failed_before_its_streams_is_named_so(airflow_home) -> None:
    """The run-level problem reads as what it is, not as a stream called ``(run)``."""
    from sendgrid_connect import health

    from sendgrid_elt.connection_health import RUN_PROBLEM

    failed = {"kind": "failed", "detail": "SendGridRetriableError: 503", "count": 0}
    h = health.Health("degraded", stream_problems={RUN_PROBLEM: failed, "bounces": failed})
    assert h.label == "Degraded; the last run failed before its streams; streams failed: bounces"


def test_refused_subusers_read_as_such_not_as_rejected_records(airflow_home) -> None:
    """A stream whose refused subusers were skipped is named for that, apart from rejects."""
    from sendgrid_connect import health

    skipped = {"kind": "skipped_units", "detail": "1 subuser skipped", "count": 1}
    rejected = {"kind": "rejected", "detail": "2 records rejected", "count": 2}
    h = health.Health("degraded", stream_problems={"subuser_stats": skipped, "bounces": rejected})
    assert h.label == ("Degraded; subusers refused in subuser_stats; records rejected in bounces")


def test_held_deletions_read_as_such_not_as_rejected_records(airflow_home) -> None:
    """A stream whose mass deletion was held (``held_deletions``) is named for that."""
    from sendgrid_connect import health

    held = {"kind": "held_deletions", "detail": "deletion of 20 of 20 keys held", "count": 1}
    h = health.Health("degraded", stream_problems={"api_keys": held})
    assert h.label == "Degraded; deletions held in api_keys until the next run agrees"


def test_refused_ids_read_as_such_not_as_rejected_records(airflow_home) -> None:
    """A stream whose API keys or templates were refused (``refused_ids``) is named for that.
    Before: read as "records rejected"."""
    from sendgrid_connect import health

    refused = {"kind": "refused_ids", "detail": "1 parent id refused", "count": 1, "ids": ["k"]}
    h = health.Health("degraded", stream_problems={"api_key_scopes": refused})
    assert h.label == "Degraded; ids refused (rows kept) in api_key_scopes"


def test_health_reads_a_table_from_before_its_newest_column(airflow_home, warehouse) -> None:
    """After an upgrade, before a DAG run migrates the table, the page still shows each
    tenant's health (before: the select named the new column, failed, and every tenant read
    "unknown")."""
    from sendgrid_connect import health
    from sqlalchemy import text

    from sendgrid_elt.connection_health import health_engine, record_health

    engine = health_engine()
    record_health(engine, tenant_id="acme_old", status="connected", missing_scopes=["stats.read"])
    with engine.begin() as conn:
        conn.execute(text("alter table sendgrid_staging.connection_health "
                          "drop column alerted_problems"))  # fmt: skip
    try:
        found = health.read_all()
        assert found is not None
        assert found["acme_old"].status == "degraded"
        assert found["acme_old"].missing_scopes == ("stats.read",)
    finally:
        with engine.begin() as conn:
            conn.execute(text("alter table sendgrid_staging.connection_health "
                              "add column if not exists alerted_problems jsonb"))  # fmt: skip
