"""What a run publishes (its as-of) and which tenants it finds, on a real warehouse and Airflow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest

from sendgrid_elt.extract_load import prepare_staging
from sendgrid_elt.publish import staging_summary
from sendgrid_elt.settings import STAGING_SCHEMA

pytestmark = pytest.mark.usefixtures("airflow_home")

DAY = dt.timedelta(days=1)
NEW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def _status(conn: psycopg.Connection, tenant: str, run_id: str) -> None:
    conn.execute(
        f'insert into "{STAGING_SCHEMA}".stream_status (tenant_id, stream, status, checked_at, '  # noqa: S608
        "run_id, records) values (%s, 'teammates', 'ok', now(), %s, 3) "
        "on conflict (tenant_id, stream) do update set run_id = excluded.run_id",
        (tenant, run_id),
    )


def test_a_cleared_old_run_never_takes_the_as_of_back(warehouse: Any) -> None:
    """Clearing last week's run re-reads today's data: it is published as of the newest run,
    so the transform it triggers does not rebuild the marts as of last week."""
    prepare_staging()
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        _status(conn, "acme", "daily_new")
        assert staging_summary("daily_new", NEW)["as_of"] == "2026-11-20T00:00:00Z"
        _status(conn, "bluebird", "daily_old")
        summary = staging_summary("daily_old", NEW - 7 * DAY)
        assert summary["as_of"] == "2026-11-20T00:00:00Z"
        runs = dict(conn.execute(f'select run_id, as_of from "{STAGING_SCHEMA}".extract_runs'))  # noqa: S608
    assert runs == {"daily_new": NEW, "daily_old": NEW}
    # a newer run still moves it forward
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        _status(conn, "acme", "daily_next")
    assert staging_summary("daily_next", NEW + DAY)["as_of"] == "2026-11-21T00:00:00Z"


def test_a_run_published_again_keeps_its_recorded_as_of(warehouse: Any) -> None:
    """An old run cleared after newer runs is published as of the newest run (the marts never
    go back), but its own recorded as-of stays: the marts date the reads it made then by it.
    Before, it was raised to the newest run's, so a stream last read well in that old run read
    as covered through this week."""
    prepare_staging()
    old = NEW - 7 * DAY
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        _status(conn, "acme", "daily_old")
        assert staging_summary("daily_old", old)["as_of"] == "2026-11-13T00:00:00Z"
        _status(conn, "bluebird", "daily_new")
        staging_summary("daily_new", NEW)
        _status(conn, "cedar", "daily_old")  # the cleared old run re-reads a failed tenant
        assert staging_summary("daily_old", old)["as_of"] == "2026-11-20T00:00:00Z"
        runs = dict(conn.execute(f'select run_id, as_of from "{STAGING_SCHEMA}".extract_runs'))  # noqa: S608
    assert runs == {"daily_old": old, "daily_new": NEW}


def test_an_old_run_listing_tenants_again_never_backdates_a_removal(warehouse: Any) -> None:
    """Last week's run cleared today lists today's tenants: one gone since is removed as of the
    newest run, not as of last week (which took it out of a week of reports it was in)."""
    from sendgrid_elt import sync_state
    from sendgrid_elt.extract_load import record_roster

    prepare_staging()
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        for tenant in ("acme", "bluebird"):
            sync_state.save_tenant(conn, tenant, display_name=tenant, region="global",
                                   auth_type="api_key", subusers_filter="all")  # fmt: skip
        _status(conn, "acme", "daily_new")
        staging_summary("daily_new", NEW)
    record_roster(["acme"], NEW - 7 * DAY)  # the cleared old run's discovery
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        query = f'select tenant_id, removed_at from "{STAGING_SCHEMA}".tenants'  # noqa: S608
        removed = dict(conn.execute(query))
    assert removed == {"acme": None, "bluebird": NEW}


def test_a_tenant_lookup_that_fails_fails_the_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a connection that does not exist is dropped; a lookup the secrets backend could not
    answer fails the run (retried) instead of dropping the tenant and marking it removed. The
    SDK's own lookup logs a backend's exception at DEBUG and reports "isn't defined": a Vault
    outage used to read as the tenant's connection deleted."""
    from airflow.sdk.execution_time import supervisor
    from airflow.secrets.environment_variables import EnvironmentVariablesBackend

    from sendgrid_elt import tenants

    class Vault:  # an external secrets backend, down for one id
        def get_connection(self, conn_id: str) -> Any:
            if conn_id == "vault_down":
                raise ConnectionError("secrets backend unavailable")
            return None

        def get_variable(self, key: str) -> Any:
            return None

    monkeypatch.setattr(supervisor, "ensure_secrets_backend_loaded",
                        lambda: [EnvironmentVariablesBackend(), Vault()])  # fmt: skip
    monkeypatch.setenv("AIRFLOW_VAR_SENDGRID_TENANTS", '["gone", "vault_down"]')
    down = r"connection vault_down could not be read from Vault \(ConnectionError\)"
    with pytest.raises(tenants.TenantListUnreadable, match=down):
        tenants.discover()
    monkeypatch.setenv("AIRFLOW_VAR_SENDGRID_TENANTS", '["gone"]')
    assert "gone" not in tenants.discover()  # a connection that no longer exists is left out


def test_a_known_tenant_the_listings_miss_is_kept_while_its_connection_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the API connection gone, the metadata database's tenants are not listed: one an
    earlier run knew is looked up and kept (extracted, not marked removed); one whose
    connection is gone is dropped (before, both were dropped and marked removed)."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import Connection

    from sendgrid_elt import tenants

    def get(conn_id: str) -> Any:
        if conn_id == "kept_in_db":
            return Connection(conn_id=conn_id, conn_type="sendgrid", password="SG.x.y")
        raise AirflowNotFoundException(conn_id)

    monkeypatch.setattr(Connection, "get", staticmethod(get))
    monkeypatch.setattr(tenants, "metadata_tenant_ids", lambda: [])  # no API connection
    found = tenants.discover(known=["kept_in_db", "deleted"])
    assert "kept_in_db" in found
    assert "deleted" not in found


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("airflow.example.com", "https", None, "https://airflow.example.com"),
        ("airflow.example.com", "", 8080, "http://airflow.example.com:8080"),
        ("https://airflow.example.com/", "http", None, "https://airflow.example.com"),
    ],
)
def test_the_api_connection_s_schema_field_sets_a_schemeless_host_s_scheme(
    monkeypatch: pytest.MonkeyPatch, host: str, schema: str, port: int | None, expected: str
) -> None:
    """As with Airflow's ``HttpHook``, ``schema=https`` on a host without a scheme signs in over
    https: the API user's password is never sent in clear to a remote API server so set up."""
    from airflow.sdk import Connection

    from sendgrid_elt import tenants

    api = Connection(conn_id="sendgrid_airflow_api", conn_type="http", host=host,
                     schema=schema, port=port, login="reader", password="pw")  # fmt: skip
    monkeypatch.setattr(Connection, "get", staticmethod(lambda conn_id: api))
    seen: list[str] = []
    monkeypatch.setattr(tenants, "list_connection_ids", lambda url, *_: seen.append(url) or [])
    assert tenants.metadata_tenant_ids() == []
    assert seen == [expected]


def test_the_asset_extra_stays_small_whatever_the_number_of_tenants(warehouse: Any) -> None:
    """The extra is stored twice in Airflow's metadata database and handed to every transform
    run: it holds totals and names at most 20 failed tenants, not one entry per tenant."""
    import json

    from sendgrid_elt.publish import NAMED_TENANTS

    prepare_staging()
    statuses = [("teammates", "ok"), ("ips", "not_licensed"), ("bounces", "ok")]
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn, conn.cursor() as cur:
        rows = [
            (f"tenant-{i:04d}", stream, "error" if i % 25 == 0 and stream == "bounces" else st, 2)
            for i in range(1_000)
            for stream, st in statuses
        ]
        cur.executemany(
            f'insert into "{STAGING_SCHEMA}".stream_status (tenant_id, stream, status, '  # noqa: S608
            "checked_at, run_id, records) values (%s, %s, %s, now(), 'big_run', %s)",
            rows,
        )
        # a tenant that failed before its streams (revoked key) has no stream row, only its
        # batch's outcome row
        cur.executemany(
            f'insert into "{STAGING_SCHEMA}".extract_run_tenants (run_id, tenant_id, status) '  # noqa: S608
            "values ('big_run', %s, %s)",
            [("tenant-0001", "ok"), ("tenant-0002", "ok"), ("aa-revoked", "failed")],
        )
    summary = staging_summary("big_run", NEW)
    assert len(json.dumps(summary)) < 2_000
    assert summary["tenants"] == 1_000
    assert summary["records"] == 6_000
    assert summary["rows"] == {"bounces": 2_000, "ips": 2_000, "teammates": 2_000}
    assert summary["not_ok"] == {
        "error": {"streams": 40, "tenants": 40},
        "not_licensed": {"streams": 1_000, "tenants": 1_000},
    }
    assert summary["tenant_outcomes"] == {"ok": 2, "failed": 1}
    failed = summary["failed_tenants"]
    assert failed["count"] == 41
    named = ["aa-revoked", *(f"tenant-{i:04d}" for i in range(0, 1_000, 25))]
    assert failed["first"] == named[:NAMED_TENANTS]
