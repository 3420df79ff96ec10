"""Advisory locks belong to one database; so does the answer to "who holds this tenant".

``pg_locks`` lists every database's locks: a second warehouse on the same server (another
deployment, a parallel test) extracting a tenant of the same id must not be taken for this
warehouse's holder (a retry would fail as busy, or a run skip a tenant nobody extracts here).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from sendgrid_elt.tenant_lock import application_name, holder, tenant_lock
from tests.scratch_db import scratch_database


def test_the_holder_is_looked_up_in_this_database_only(
    pg_database: Any, postgres_server: Any
) -> None:
    with scratch_database(postgres_server, "other_wh") as other_db:
        here = psycopg.connect(pg_database.conninfo(), autocommit=True)
        there = psycopg.connect(other_db.conninfo(), autocommit=True)
        try:
            with tenant_lock(there, "acme", "run_elsewhere", wait=0) as got:
                assert got
                assert holder(here, "acme") is None
                with tenant_lock(here, "acme", "run_here", wait=0) as mine:
                    assert mine  # the other database's lock is no lock here
                    assert holder(here, "acme") == application_name("acme", "run_here")
                assert holder(there, "acme") == application_name("acme", "run_elsewhere")
        finally:
            here.close()
            there.close()


def test_a_lock_nobody_shows_holding_is_retried_not_skipped(pg_database: Any) -> None:
    """Released between the try and the lookup, or held where this session cannot see: a skip
    would end the run green without the tenant; the tenant fails and its batch is retried."""
    from sendgrid_elt.tenant_lock import TenantBusy, not_locked

    with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:
        assert holder(conn, "acme") is None
        with pytest.raises(TenantBusy, match="no session shows holding it"):
            not_locked(conn, "acme", "scheduled__1", waited=60)


def test_runs_whose_long_ids_share_63_bytes_have_different_session_names() -> None:
    """PostgreSQL keeps 63 bytes of ``application_name``: a long tenant id and two runs of one
    day (scheduled and manual, the same long prefix) must not read as the same run (before,
    ``not_locked`` took the other run for an earlier try of this one: retried, never skipped).
    """
    tenant = "sendgrid_" + "retail_europe_" * 3
    first = application_name(tenant, "scheduled__2026-12-06T00:00:00+00:00")
    second = application_name(tenant, "scheduled__2026-12-06T00:00:00+00:00_retry_of_backfill")
    assert max(len(first.encode()), len(second.encode())) <= 63
    assert first != second
    assert first == application_name(tenant, "scheduled__2026-12-06T00:00:00+00:00")
    assert tenant[:20] in first
