"""One odd list response never stops a unit's other rows, nor empties a snapshot.

The extractor against the simulator and a real PostgreSQL: a record that is no object on a
later page of a suppression list is one reject (the other rows load, the next run too), and a
list answered as ``null`` or ``204 No Content`` fails its unit with its rows kept, instead of
reading as a complete, empty snapshot that marks every current row deleted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg

from sendgrid_elt import catalog
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import extractor, staged_keys

BOUNCES = "/v3/suppression/bounces"


def _rejects(pg: psycopg.Connection, stream: str) -> list[tuple[Any, ...]]:
    return pg.execute(
        f'select record_key, reason, times_seen from "{STAGING_SCHEMA}".rejects '  # noqa: S608
        "where tenant_id = 'acme' and stream = %s",
        (stream,),
    ).fetchall()


def test_a_non_object_record_on_a_later_suppression_page_is_one_reject(
    sim: Any, acme: Any, pg: psycopg.Connection
) -> None:
    """``42`` in place of a bounce on page 2 of the parent's list (pages of 500, narrowed by
    ``created``): the unit loads every other row and keeps the record in ``rejects``; the next
    run goes on from the unit's cursor. It once stopped the whole unit with an
    ``AttributeError`` and staged nothing."""
    emails = [r["email"] for r in acme.iter_records(BOUNCES, pagination="created_window",
                                                    records_path=None, page_size=500)]  # fmt: skip
    assert len(emails) > 1000  # the poisoned record sits on a later page
    tenant = sim.accounts["tenants"][0]["tenant_id"]
    sim.control.poison(tenant, "bounces", emails[700], "not_object")
    parent_only = dataclasses.replace(catalog.get("bounces"), per_subuser=False)
    try:
        for run in ("r1", "r2"):
            outcome = extractor(acme, pg, run=run).run_stream(parent_only)
            assert outcome.status == "ok", outcome
            assert outcome.rejected == (run == "r1"), outcome  # run 2 reads from its cursor
            assert staged_keys(pg, "acme", "bounces") == sorted(set(emails) - {emails[700]})
    finally:
        sim.control.clear_poisons()
    [(key, reason, seen)] = _rejects(pg, "bounces")
    assert (key, seen) == (None, 1)  # incremental: run 2 did not read it again
    assert reason.startswith("record not an object")
