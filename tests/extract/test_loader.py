"""The loader against a real PostgreSQL: merges, versions, deletions, cursors, idempotence."""

from __future__ import annotations

import hashlib
import json

import pytest

from sendgrid_elt import catalog, sync_state
from sendgrid_elt.loader import StagingLoader
from sendgrid_elt.rejects import Reject
from sendgrid_elt.settings import STAGING_SCHEMA
from sendgrid_elt.staging_schema import ensure_schema_url


def _rows(records, pk="email", subuser="", cursor_field=None):
    """One page per record (the loader takes pages of rows)."""
    for r in records:
        cv = r.get(cursor_field) if cursor_field else None
        data = json.dumps(r, sort_keys=True).encode()
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        yield [(subuser, "", str(r[pk]), data, digest, cv)], []


def _table(conn, name):
    return conn.execute(
        f"select subuser, record_key, record, is_current, deleted_at is not null "  # noqa: S608
        f'from "{STAGING_SCHEMA}"."{name}" order by subuser, record_key, first_seen_at'
    ).fetchall()


def test_schema_is_idempotent_and_adds_missing_columns(pg_database, pg) -> None:
    pg.execute(f'alter table "{STAGING_SCHEMA}".bounces drop column deleted_at')
    pg.execute(f'alter table "{STAGING_SCHEMA}".sync_state drop column updated_at')
    ensure_schema_url(pg_database.sqlalchemy_url())
    ensure_schema_url(pg_database.sqlalchemy_url())
    cols = {
        r[0]
        for r in pg.execute(
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = 'bounces'",
            (STAGING_SCHEMA,),
        )
    }
    assert {"deleted_at", "record", "record_hash", "is_current", "run_id"} <= cols
    tables = {
        r[0]
        for r in pg.execute(
            "select table_name from information_schema.tables where table_schema = %s",
            (STAGING_SCHEMA,),
        )
    }
    assert {s.name for s in catalog.STREAMS} | {"sync_state", "stream_status", "tenants"} <= tables


def test_incremental_upsert_is_idempotent_and_commits_cursor(pg) -> None:
    spec = catalog.get("bounces")
    recs = [{"created": 100 + i, "email": f"a{i}@x.org", "reason": "r"} for i in range(25)]
    loader = StagingLoader(pg, "t1", "run1", batch_size=10)
    res = loader.stream(spec).write_unit("", _rows(recs, cursor_field="created"), checkpoint=True)
    assert (res.records, res.batches, res.cursor) == (25, 3, {"value": 124})
    assert sync_state.load_cursor(pg, "t1", "bounces", "") == {"value": 124}
    before = _table(pg, "bounces")
    # same records again (overlap) + 2 new, one changed: no duplicates
    recs2 = [*recs[20:], {"created": 200, "email": "new@x.org"}]
    recs2[0] = {**recs2[0], "reason": "changed", "unknown_field": {"nested": [1, 2]}}
    loader2 = StagingLoader(pg, "t1", "run2", batch_size=10)
    loader2.stream(spec).write_unit("", _rows(recs2, cursor_field="created"), checkpoint=True)
    after = _table(pg, "bounces")
    assert len(after) == len(before) + 1
    changed = next(r for r in after if r[1] == "a20@x.org")
    assert changed[2]["unknown_field"] == {"nested": [1, 2]}
    assert sync_state.load_cursor(pg, "t1", "bounces", "") == {"value": 200}


def _then_fail(pages):
    yield from pages
    raise RuntimeError("the API failed mid-unit")


@pytest.mark.parametrize(
    ("created", "checkpoint"),
    [([100] * 12, None), ([100 + i for i in range(12)], {"value": 109})],
    ids=["equal values: no order shown", "rising values"],
)
def test_a_mid_unit_checkpoint_needs_rising_cursors(pg, created, checkpoint) -> None:
    """A first batch of equal cursor values (a bulk import) says nothing about the list's order:
    were it newest first, a checkpoint at that value would make the next run start there and
    never read the older rows the failure left unread. Only rows seen rising are checkpointed."""
    spec = catalog.get("bounces")
    recs = [{"created": c, "email": f"a{i:02}@x.org"} for i, c in enumerate(created)]
    w = StagingLoader(pg, "t1", "run1", batch_size=10).stream(spec)
    with pytest.raises(RuntimeError, match="mid-unit"):
        w.write_unit("", _then_fail(_rows(recs, cursor_field="created")), checkpoint=True)
    assert sync_state.load_cursor(pg, "t1", "bounces", "") == (checkpoint or {})
    assert len(_table(pg, "bounces")) == 10  # the first batch is kept either way


def test_a_unit_not_read_in_full_commits_its_rows_but_not_its_cursor(pg) -> None:
    """``intact=False`` (a parent id of the unit was not read): the rows of its one page are
    committed, its stored cursor and last success stay as they were, so the next run reads
    the missing part again."""
    spec = catalog.get("bounces")
    sync_state.save_cursor(pg, "t1", "bounces", "", {"value": 50}, "run0", complete=True, rows=0)
    before = pg.execute(
        f'select cursor, last_success_at from "{STAGING_SCHEMA}".sync_state'  # noqa: S608
    ).fetchall()
    recs = [{"created": 100, "email": "a@x.org"}, {"created": 101, "email": "b@x.org"}]
    w = StagingLoader(pg, "t1", "run1", batch_size=10).stream(spec)
    res = w.write_unit("", _rows(recs, cursor_field="created"), prev_cursor={"value": 50},
                       checkpoint=True, intact=lambda: False)  # fmt: skip
    assert res.records == 2
    assert len(_table(pg, "bounces")) == 2
    after = pg.execute(
        f'select cursor, last_success_at from "{STAGING_SCHEMA}".sync_state'  # noqa: S608
    ).fetchall()
    assert after == before


def test_snapshot_versions_and_deletions(pg) -> None:
    spec = catalog.get("teammates")
    v1 = [{"username": u, "user_type": "teammate"} for u in ("ann", "bob", "cy")]
    w = StagingLoader(pg, "t1", "r1").stream(spec)
    w.write_unit("", _rows(v1, pk="username"))
    assert w.finish_snapshot() == 0
    # bob changes, cy disappears, dan joins
    v2 = [v1[0], {"username": "bob", "user_type": "admin"}, {"username": "dan"}]
    w2 = StagingLoader(pg, "t1", "r2").stream(spec)
    w2.write_unit("", _rows(v2, pk="username"))
    assert w2.finish_snapshot() == 1
    rows = _table(pg, "teammates")
    current = {r[1]: (r[2], r[4]) for r in rows if r[3]}
    assert set(current) == {"ann", "bob", "cy", "dan"}
    assert current["cy"][1] is True  # marked deleted
    assert current["bob"][0]["user_type"] == "admin"
    assert len([r for r in rows if r[1] == "bob"]) == 2  # two versions kept
    # a partial snapshot (no finish) deletes nothing; a rerun of v2 changes nothing
    w3 = StagingLoader(pg, "t1", "r3").stream(spec)
    w3.write_unit("", _rows(v2[:1], pk="username"))
    assert [r[:4] for r in _table(pg, "teammates")] == [r[:4] for r in rows]
    w4 = StagingLoader(pg, "t1", "r4").stream(spec)
    w4.write_unit("", _rows(v2, pk="username"))
    w4.finish_snapshot()
    assert _table(pg, "teammates") == rows
    # cy comes back: undeleted, same version
    w5 = StagingLoader(pg, "t1", "r5").stream(spec)
    w5.write_unit("", _rows([*v2, v1[2]], pk="username"))
    w5.finish_snapshot()
    cy = [r for r in _table(pg, "teammates") if r[1] == "cy"]
    assert len(cy) == 1
    assert cy[0][4] is False


def test_snapshot_skips_excluded_subusers(pg) -> None:
    spec = catalog.get("alerts")
    w = StagingLoader(pg, "t1", "r1").stream(spec)
    w.write_unit("", _rows([{"id": 1}], pk="id"))
    w.write_unit("sub1", _rows([{"id": 2}], pk="id", subuser="sub1"))
    w.finish_snapshot()
    w2 = StagingLoader(pg, "t1", "r2").stream(spec)
    w2.write_unit("", _rows([], pk="id"))
    assert w2.finish_snapshot(excluded_subusers=["sub1"]) == 1
    deleted = {r[0]: r[4] for r in _table(pg, "alerts")}
    assert deleted == {"": True, "sub1": False}


def test_empty_unit_commits_final_state(pg) -> None:
    spec = catalog.get("blocks")
    res = (
        StagingLoader(pg, "t1", "r1")
        .stream(spec)
        .write_unit("", iter(()), prev_cursor={"value": 5})
    )
    assert res.records == 0
    row = pg.execute(
        "select cursor, last_success_at is not null, rows_last_run "  # noqa: S608
        f'from "{STAGING_SCHEMA}".sync_state'
    ).fetchone()
    assert row == ({"value": 5}, True, 0)


def _stored(conn, name):
    return conn.execute(
        "select tenant_id, subuser, parent_key, record_key, record_hash, record, "  # noqa: S608
        f'first_seen_at, last_seen_at, extracted_at, run_id from "{STAGING_SCHEMA}"."{name}" '
        "order by subuser, record_key"
    ).fetchall()


def test_binary_copy_frames_every_column_across_buffers(pg) -> None:
    """The loader's own COPY framing: every column round-trips, many buffers, both paths."""
    from sendgrid_elt.copy_binary import BUFFER_BYTES

    spec = catalog.get("bounces")
    filler = "é✓" * 60  # multi-byte text: lengths are bytes, not characters
    recs = [
        {"created": 1000 + i, "email": f"ü{i}@exämple.org", "reason": filler, "n": i}
        for i in range(1500)
    ]
    assert len(json.dumps(recs).encode()) > 3 * BUFFER_BYTES
    pages = [page for sub in ("", "sub-ß") for page in _rows(recs, subuser=sub,
                                                             cursor_field="created")]  # fmt: skip
    w = StagingLoader(pg, "tenant-ü", "run-1", batch_size=700).stream(spec)
    # fresh rows (past the stored cursor) take the direct COPY into the table
    res = w.write_unit("", iter(pages), prev_cursor={"value": 999}, checkpoint=True)
    assert res.records == 3000
    first = _stored(pg, "bounces")
    expected = sorted((s, k, json.loads(d), h) for page, _ in pages for s, _p, k, d, h, _cv in page)
    assert [(r[1], r[3], r[5], r[4]) for r in first] == expected
    assert {(r[0], r[2], r[9]) for r in first} == {("tenant-ü", "", "run-1")}
    assert {r[6:9] for r in first} == {(w.seen_at, w.seen_at, w.seen_at)}
    # the same rows again (no stored cursor: the temp-table upsert path): values unchanged
    w2 = StagingLoader(pg, "tenant-ü", "run-2", batch_size=700).stream(spec)
    w2.write_unit("", iter(pages), checkpoint=True)
    again = _stored(pg, "bounces")
    assert [r[:7] for r in again] == [r[:7] for r in first]
    assert {(r[7], r[9]) for r in again} == {(w2.seen_at, "run-2")}


def test_refused_record_is_isolated_from_a_framed_batch(pg) -> None:
    """A record PostgreSQL refuses (not JSON) is split out of the binary COPY into rejects."""
    spec = catalog.get("bounces")
    pages = list(_rows([{"created": 10 + i, "email": f"a{i}@x.org"} for i in range(40)],
                       cursor_field="created"))  # fmt: skip
    (bad, *_), _ = pages[17]
    pages[17] = [(*bad[:3], b'{"email": "a17@x.org"', *bad[4:])], []
    w = StagingLoader(pg, "t1", "r1").stream(spec)
    res = w.write_unit("", iter(pages), prev_cursor={"value": 1})
    assert (res.records, w.rejected) == (39, 1)
    reject = pg.execute(f'select record_key, raw from "{STAGING_SCHEMA}".rejects').fetchall()  # noqa: S608
    assert reject == [("a17@x.org", '{"email": "a17@x.org"')]
    assert len(staged := _stored(pg, "bounces")) == 39
    assert "a17@x.org" not in {r[3] for r in staged}


def test_fresh_batch_meeting_an_existing_key_is_redone_whole_by_merge(pg) -> None:
    """A direct COPY that meets a stored key rolls its batch back; the redo merges every row and
    commits the batch's rejects and cursor once."""
    spec = catalog.get("bounces")
    old = [{"created": 5, "email": "a3@x.org", "reason": "old"}]
    StagingLoader(pg, "t1", "r0").stream(spec).write_unit("", _rows(old, cursor_field="created"))
    recs = [{"created": 10 + i, "email": f"a{i}@x.org", "reason": "new"} for i in range(8)]
    pages = list(_rows(recs, cursor_field="created"))
    pages[0] = pages[0][0], [Reject("", "", None, "primary key field missing: email", "{}")]
    w = StagingLoader(pg, "t1", "r1", batch_size=4).stream(spec)
    res = w.write_unit("", iter(pages), prev_cursor={"value": 5}, checkpoint=True)
    assert (res.records, res.batches, res.cursor) == (8, 3, {"value": 17})
    staged = {r[1]: r[2]["reason"] for r in _table(pg, "bounces")}
    assert staged == {f"a{i}@x.org": "new" for i in range(8)}  # a3 merged, not duplicated
    rejects = pg.execute(f'select reason from "{STAGING_SCHEMA}".rejects').fetchall()  # noqa: S608
    assert rejects == [("primary key field missing: email",)]
    assert sync_state.load_cursor(pg, "t1", "bounces", "") == {"value": 17}
