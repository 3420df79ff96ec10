"""Shaping records into staging rows: serialized once, repaired, rejected, cursors typed and
bounded (no database, no HTTP: the end-to-end cases are in ``test_bad_records.py``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from sendgrid_hook.json_body import parse_json

from sendgrid_elt import catalog
from sendgrid_elt.records import Shaper, parse_cursor
from sendgrid_elt.rejects import Reject

BOUNCES = catalog.get("bounces")


def _shape(spec, record, unit="", parent=None, bound=None):
    shaper = Shaper(spec, bound)
    return list(shaper.shape(record, unit, parent)), shaper.stats


def test_clean_record_is_serialized_once_canonically() -> None:
    [row], stats = _shape(BOUNCES, {"email": "a@x.org", "reason": "r", "created": 7})
    sub, parent, key, data, digest, cursor = row
    assert (sub, parent, key, cursor) == ("", "", "a@x.org", 7)
    assert data == b'{"created":7,"email":"a@x.org","reason":"r"}'  # sorted, compact
    assert digest == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert stats.summary() is None


def test_values_postgres_cannot_store_are_replaced_and_counted() -> None:
    [record] = parse_json(
        b'[{"email": "a@x.org", "created": 7, "n": "x\\u0000y", "s": "\\ud800", "f": NaN,'
        b' "g": [Infinity, {"k\\u0000": 1}]}]'
    )
    [row], stats = _shape(BOUNCES, record)
    stored = json.loads(row[3])
    assert stored == {"email": "a@x.org", "created": 7, "n": "x\ufffdy", "s": "\ufffd",
                      "f": None, "g": [None, {"k\ufffd": 1}]}  # fmt: skip
    assert stats.repaired == 1
    assert stats.replaced == {"NUL characters": 2, "lone surrogates": 1, "non-finite numbers": 2}
    assert "1 records repaired" in stats.summary()


@pytest.mark.parametrize(
    ("record", "reason", "key"),
    [
        ({"reason": "no email", "created": 7}, "primary key field missing: email", None),
        ({"email": "", "created": 7}, "primary key field missing: email", None),
        ({"email": "a@x.org", "created": "9999-garbage"}, "cursor created: unparseable value",
         "a@x.org"),
        ({"email": "a@x.org", "created": True}, "cursor created: unparseable value", "a@x.org"),
        ({"email": "x" * 1001, "created": 7}, "primary key longer than 1000 characters",
         "x" * 200),
        (42, "record not an object", None),
    ],
)  # fmt: skip
def test_unloadable_records_become_rejects(record, reason, key) -> None:
    [out], stats = _shape(BOUNCES, record)
    assert isinstance(out, Reject)
    assert out.reason.startswith(reason)
    assert out.record_key == key
    assert json.loads(out.raw) == record
    assert stats.rejected == 1


def test_too_deep_record_is_rejected_with_its_key_and_raw_text() -> None:
    body = b'[{"email": "d@x.org", "created": 3, "deep": ' + b"[" * 5000 + b"]" * 5000 + b"}]"
    [record] = parse_json(body)
    [out], _stats = _shape(BOUNCES, record)
    assert isinstance(out, Reject)
    assert out.record_key == "d@x.org"
    assert "nested deeper" in out.reason
    assert out.raw.isascii()
    assert "[[[[" in out.raw


def test_mixed_cursor_types_parse_to_one_type() -> None:
    shaper = Shaper(BOUNCES, None)
    records = [{"email": "a", "created": 5}, {"email": "b", "created": "6"},
               {"email": "c", "created": 7.0}]  # fmt: skip
    rows = [r for rec in records for r in shaper.shape(rec, "", None)]
    assert [r[5] for r in rows] == [5, 6, 7]


def test_cursor_beyond_the_bound_loads_but_is_not_a_candidate() -> None:
    [row], stats = _shape(BOUNCES, {"email": "f@x.org", "created": 2_000_000_000}, bound=1_000)
    assert row[2] == "f@x.org"
    assert row[5] is None
    assert stats.cursor_ignored == 1


def test_date_cursor_kind() -> None:
    assert parse_cursor("2026-11-28", "date") == "2026-11-28"
    for bad in ("2026-13-01", "9999-garbage", 20261128, "2026-11-28T00:00:00"):
        assert parse_cursor(bad, "date") is None
    stats_spec = catalog.get("global_stats")
    [row], _ = _shape(stats_spec, {"date": "2026-11-28", "stats": []}, bound="2026-11-29")
    assert row[5] == "2026-11-28"
    [row], stats = _shape(stats_spec, {"date": "2031-01-01", "stats": []}, bound="2026-11-29")
    assert row[5] is None
    assert stats.cursor_ignored == 1


def test_optional_key_fields_and_composite_keys() -> None:
    spec = catalog.get("singlesend_stats")
    record = {"id": "s1", "ab_variation": "", "ab_phase": "all", "aggregation": "total"}
    [row], _ = _shape(spec, record, parent="s1")
    assert row[2] == "s1||all|total"
    [out], _ = _shape(spec, {**record, "ab_phase": None}, parent="s1")
    assert isinstance(out, Reject)
    assert out.reason == "primary key field missing: ab_phase"


def test_dropped_fields_leave_the_api_record_untouched() -> None:
    spec = catalog.get("api_keys")
    record = {"api_key_id": "k1", "name": "n", "api_key": "SG.secret"}
    [row], _ = _shape(spec, record)
    assert b"SG.secret" not in row[3]
    assert record["api_key"] == "SG.secret"  # the pager's repeat guard compares pages as read


def test_exploded_stats_carry_the_date() -> None:
    spec = dataclasses.replace(catalog.get("category_stats"))
    record = {"date": "2026-11-01", "stats": [{"name": "news", "metrics": {"opens": 1}}, "junk"]}
    [row], _ = _shape(spec, record)
    assert row[2] == "2026-11-01|news"
    assert json.loads(row[3])["date"] == "2026-11-01"


def test_page_path_equals_the_general_path() -> None:
    """``Shaper.rows`` (inlined common case) and ``Shaper.shape`` agree on every record."""
    records = parse_json(
        b'[{"email": "a@x", "created": 1}, {"email": "b@x", "created": "2"}, {"created": 3},'
        b' {"email": "c@x", "created": "bad"}, {"email": "d@x", "n": "\\u0000"}, 7, {},'
        b' {"email": 5, "created": 4}, {"email": "e@x", "created": 9, "f": NaN}]'
    )
    page, general = Shaper(BOUNCES, 5), Shaper(BOUNCES, 5)
    rows, rejects = page.rows(records, "u", None)
    expected = [item for r in records for item in general.shape(r, "u", None)]
    assert rows == [x for x in expected if isinstance(x, tuple)]
    assert rejects == [x for x in expected if isinstance(x, Reject)]
    assert len(rows) == 5
    assert [r.reason.split(":")[0] for r in rejects] == [
        "primary key field missing",
        "cursor created",
        "record not an object",
    ]
    assert page.stats == general.stats


def test_a_pending_invitation_is_keyed_by_token_or_by_its_pending_id() -> None:
    """The spec's schema names the invitation key ``token``, its example ``pending_id``: either
    keys the record; one with neither is rejected, naming the field."""
    pending = catalog.get("teammates_pending")
    invite = {"email": "a@x.org", "scopes": [], "is_admin": False, "expiration_date": 9}
    [row], _ = _shape(pending, {**invite, "token": "tok1"})
    assert row[2] == "tok1"
    [row], _ = _shape(pending, {**invite, "pending_id": "abcd123abc"})
    assert row[2] == "abcd123abc"
    [row], _ = _shape(pending, {**invite, "token": "tok1", "pending_id": "other"})
    assert row[2] == "tok1"  # the schema's field wins
    [row], [reject] = Shaper(pending, None).rows([{**invite, "pending_id": "p2"}, invite], "", None)
    assert row[2] == "p2"
    assert isinstance(reject, Reject)
    assert reject.reason == "primary key field missing: token"
