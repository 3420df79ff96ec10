"""A key twice in one read: the same rows win whatever cursor is stored (no HTTP)."""

from __future__ import annotations

import hashlib
import json

from sendgrid_elt import catalog
from sendgrid_elt.load_batches import distinct_rows
from sendgrid_elt.loader import StagingLoader
from sendgrid_elt.settings import STAGING_SCHEMA

BOUNCES = catalog.get("bounces")
OLD = {"email": "a@x.org", "created": 90, "reason": "old"}
NEW = {"email": "a@x.org", "created": 150, "reason": "new"}


def _row(record, key_field="email", cursor_field="created"):
    data = json.dumps(record, sort_keys=True).encode()
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return "", "", str(record[key_field]), data, digest, record.get(cursor_field)


def _stored(pg, tenant, table="bounces"):
    return [
        r[0]
        for r in pg.execute(
            f'select record from "{STAGING_SCHEMA}"."{table}" '  # noqa: S608
            "where tenant_id = %s and is_current order by record_key",
            (tenant,),
        )
    ]


def test_the_later_record_wins_whatever_the_stored_cursor(pg) -> None:
    """The same page stores the same row from a fresh start, mid-way and once settled."""
    kept, writers = {}, []
    for order, page in (("old first", [OLD, NEW]), ("new first", [NEW, OLD])):
        for prev in (None, 50, 100, 150, 200):
            tenant = f"{order}, stored cursor {prev}"
            stored = None if prev is None else {"value": prev}
            writer = StagingLoader(pg, tenant, "r1").stream(BOUNCES)
            rows = [_row(r) for r in page]
            writer.write_unit("", iter([(rows, [])]), prev_cursor=stored, checkpoint=True)
            kept[tenant] = [r["reason"] for r in _stored(pg, tenant)]
            writers.append(writer)
    assert kept == {tenant: ["new"] for tenant in kept}
    assert [w.records for w in writers] == [1] * len(writers)
    # the dropped record differed from the kept one: counted
    assert [w.duplicates for w in writers] == [1] * len(writers)


def test_a_rerun_over_a_stored_older_record_converges(pg) -> None:
    """Run 1 saw only the old record; runs 2 and 3 read both: 'new' is stored and stays."""
    StagingLoader(pg, "t", "r1").stream(BOUNCES).write_unit(
        "", iter([([_row(OLD)], [])]), checkpoint=True
    )
    for run, prev in (("r2", 90), ("r3", 150)):
        StagingLoader(pg, "t", run).stream(BOUNCES).write_unit(
            "", iter([([_row(OLD), _row(NEW)], [])]), prev_cursor={"value": prev}, checkpoint=True
        )
        assert [r["reason"] for r in _stored(pg, "t")] == ["new"], run


def test_equal_cursors_keep_the_last_in_api_order() -> None:
    first = _row({**NEW, "reason": "first"})
    last = _row({**NEW, "reason": "last"})
    other = _row({"email": "b@x.org", "created": 1})
    rows, dropped = distinct_rows([first, other, last])
    assert rows == [last, other]  # key order
    assert dropped == 1
    # a row without a cursor value ranks below one with a value, wherever it is
    bare = _row({"email": "a@x.org", "reason": "bare"})
    assert distinct_rows([first, bare]) == ([first], 1)
    assert distinct_rows([bare, first]) == ([first], 1)
    # an exact repeat is dropped without being counted
    assert distinct_rows([first, first]) == ([first], 0)


def test_a_batch_without_repeats_is_only_sorted() -> None:
    rows = [_row({"email": f"{c}@x.org", "created": i}) for i, c in enumerate("cab")]
    assert distinct_rows(rows) == (sorted(rows, key=lambda r: r[2]), 0)
