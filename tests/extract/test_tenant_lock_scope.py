"""Advisory locks belong to one database; so does the answer to "who holds this tenant".

``pg_locks`` lists every database's locks: a second warehouse on the same server (another
deployment, a parallel test) extracting a tenant of the same id must not be taken for this
warehouse's holder (a retry would fail as busy, or a run skip a tenant nobody extracts here).
"""

from __future__ import annotations

from typing import Any

import psycopg

from sendgrid_elt.tenant_lock import holder, tenant_lock
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
                    assert holder(here, "acme") == "sendgrid acme run_here"
                assert holder(there, "acme") == "sendgrid acme run_elsewhere"
        finally:
            here.close()
            there.close()
