"""Shaping records into staging rows: serialized once, repaired, rejected, cursors typed and
bounded (no database, no HTTP: the end-to-end cases are in ``test_bad_records.py``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from pathlib import Path

import pytest
from sendgrid_hook.json_body import parse_json

import sendgrid_elt.records as shaping
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


def test_a_cursor_within_the_clock_skew_counts_as_the_api_s_clock() -> None:
    """A record stamped 250 s past the API's clock (within the 300 s skew allowed) must not
    become the cursor itself: the next run would start there and skip what was written in
    between. It counts as the clock; past the skew it is no candidate; the fast page path and
    the general record path agree."""
    now = 1_000_000
    records = [{"email": f"{i}@x.org", "created": c}
               for i, c in enumerate((now - 5, now + 250, now + 400))]  # fmt: skip
    fast = Shaper(BOUNCES, now + 300, now)
    rows, _ = fast.rows(records, "", None)
    assert [r[5] for r in rows] == [now - 5, now, None]
    assert fast.stats.cursor_ignored == 1
    general = Shaper(BOUNCES, now + 300, now)
    assert [next(general.shape(r, "", None))[5] for r in records] == [now - 5, now, None]


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
    [row, junk], _ = _shape(spec, record)  # the item that is not an object: a reject
    assert isinstance(junk, Reject)
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


@pytest.mark.parametrize(
    ("spec_name", "body", "parent", "label"),
    [
        ("subuser_stats", b'[{"date": "2026-11-01", "stats": [{"name": "al\xffice"}]}]', None,
         0),
        ("singlesend_stats", b'[{"id": "s\xff1", "ab_phase": "all", "aggregation": "total"}]',
         "p1", 1),
    ],
)  # fmt: skip
def test_a_subuser_or_parent_key_taken_from_a_record_is_repaired_before_framing(
    spec_name, body, parent, label
) -> None:
    """A ``subuser_field``/``child_field`` value that is not UTF-8 (a lone surrogate once
    decoded) becomes the label repaired as the record's values are: the row frames for
    ``COPY`` (it raised ``UnicodeEncodeError`` and failed the stream) and the repair counts."""
    from sendgrid_elt.copy_binary import framed_rows

    shaper = Shaper(catalog.get(spec_name), None)
    rows, rejects = shaper.rows(parse_json(body), "", parent)
    [row] = rows
    assert rejects == []
    assert "\ufffd" in row[label]
    # the key holds the value as received, visibly escaped (U+FFFD would merge distinct keys);
    # its backslash escaped in turn, as the part of a composite key
    assert row[label].replace("\ufffd", "\\\\udcff") in row[2]
    assert b"".join(framed_rows(rows, 5, b"", b""))
    assert shaper.stats.repaired == 1
    assert shaper.stats.replaced["subuser/parent key labels"] == 1


def test_a_reject_keeps_its_labels_storable() -> None:
    """A record rejected before its repair could finish keeps a key PostgreSQL can store (a
    lone surrogate in ``record_key`` made the rejects insert raise)."""
    deep = b"[" * 5000 + b"]" * 5000
    [record] = parse_json(b'[{"email": "a\xff@x.org", "created": 1, "deep": ' + deep + b"}]")
    [out], _ = _shape(BOUNCES, record)
    assert isinstance(out, Reject)
    assert out.record_key == "a\\udcff@x.org"  # the byte that is not UTF-8, visibly escaped
    out.record_key.encode()


@pytest.mark.parametrize(
    ("stats", "kind"), [({"name": "news"}, "an object"), (5, "a number"), ("x", "a string"),
                        (True, "a boolean")],
)  # fmt: skip
def test_an_exploded_field_that_is_not_a_list_rejects_the_record(stats, kind) -> None:
    """An object instead of a list gave 0 rows and 0 rejects, a number raised TypeError."""
    record = {"date": "2026-11-01", "stats": stats}
    [out], shape_stats = _shape(catalog.get("category_stats"), record, unit="u")
    assert isinstance(out, Reject)
    assert out.reason == f"exploded field stats not a list: {kind}"
    assert json.loads(out.raw) == record
    assert out.subuser == "u"
    assert shape_stats.rejected == 1


def test_exploded_items_that_are_not_objects_are_rejected_one_by_one() -> None:
    """Each item that is not an object is a reject naming its place (it was dropped); the
    other items load; no list at all (``null``, missing) is no row and no reject."""
    spec = catalog.get("category_stats")
    record = {"date": "2026-11-01", "stats": [None, {"name": "news"}, "x", 3]}
    out, stats = _shape(spec, record)
    rows = [x for x in out if isinstance(x, tuple)]
    rejects = [x for x in out if isinstance(x, Reject)]
    assert [r[2] for r in rows] == ["2026-11-01|news"]
    assert [r.reason for r in rejects] == [
        "exploded field stats item not an object: item 0 is null",
        "exploded field stats item not an object: item 2 is a string",
        "exploded field stats item not an object: item 3 is a number",
    ]
    assert json.loads(rejects[0].raw) == {"date": "2026-11-01", "stats[0]": None}
    assert stats.rejected == 3
    assert "3 records rejected (3 exploded field stats item not an object" in stats.summary()
    for empty in ({"date": "2026-11-01", "stats": None}, {"date": "2026-11-01"}):
        assert _shape(spec, empty)[0] == []


def test_an_integer_literal_too_long_to_parse_rejects_its_record_only() -> None:
    """A literal over Python's int-string limit arrives as ``HugeInt``: its record is a
    reject naming why (raw text kept); the page's other records load, big ints exact."""
    body = (b'[{"email": "a@x.org", "created": 1, "n": 123456789012345678901234567890},'
            b' {"email": "b@x.org", "created": 2, "n": 1' + b"0" * 5000 + b"}]")  # fmt: skip
    shaper = Shaper(BOUNCES, None)
    rows, [reject] = shaper.rows(parse_json(body), "", None)
    assert [json.loads(r[3])["n"] for r in rows] == [123456789012345678901234567890]
    assert reject.record_key == "b@x.org"
    assert reject.reason == "value an integer literal of more than 4300 digits"
    assert "1" + "0" * 5000 in reject.raw
    assert shaper.stats.rejected == 1


@pytest.mark.parametrize("text", ["²", "--5", "1" * 5000, "٣", "1" * 20, "+5", "5.0", " "])
def test_epoch_text_that_is_not_plain_ascii_digits_is_an_unparseable_cursor(text) -> None:
    """``int()`` refused what ``isdigit`` let through (``²``, ``--5``, 5,000 digits): the
    stream failed. Now the record is a reject on both paths."""
    assert parse_cursor(text, "epoch") is None
    record = {"email": "a@x.org", "created": text}
    [out], _ = _shape(BOUNCES, record)
    assert isinstance(out, Reject)
    assert out.reason.startswith("cursor created: unparseable value")
    rows, [reject] = Shaper(BOUNCES, None).rows([record], "", None)
    assert rows == []
    assert reject == out
    assert parse_cursor(" -17 ", "epoch") == -17
    assert parse_cursor("9" * 19, "epoch") == int("9" * 19)


_HOOK_URL = "https://ops:s3cr3t@hooks.example.com:8443/catch/123/t0ken/?key=k3y#frag"
_TOKEN_URL = "https://id.example.com/oauth/token?client_secret=cl13nt"


@pytest.mark.parametrize(
    ("stream", "record"),
    [
        ("event_webhooks", {"id": "w1", "url": _HOOK_URL, "oauth_token_url": _TOKEN_URL}),
        ("parse_settings", {"hostname": "in.example.com", "url": _HOOK_URL}),
        ("event_webhook_limits",
         {"max_allowed": 5, "webhooks": [{"id": "w1", "url": _HOOK_URL}, {}]}),
    ],
)  # fmt: skip
def test_a_customer_s_webhook_url_is_stored_as_its_origin_only(stream: str, record: dict) -> None:
    """A webhook URL can carry its receiver's credentials (basic auth, a token in the path or
    the query): the warehouse keeps which service receives the events, not how to call it."""
    rows, _ = _shape(catalog.get(stream), record)
    assert len(rows) == 1
    stored = rows[0][3].decode()
    for secret in ("s3cr3t", "ops", "t0ken", "k3y", "catch", "frag", "cl13nt", "oauth/token"):
        assert secret not in stored, (secret, stored)
    assert "https://hooks.example.com:8443" in stored


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://hooks.example.com", "https://hooks.example.com"),
        ("http://[::1]:8080/x", "http://[::1]:8080"),
        ("hooks.example.com/path?token=x", "***"),
        ("https://[bad", "***"),
        ("", ""),
    ],
)
def test_url_origin(url: str, origin: str) -> None:
    from sendgrid_hook.redaction import url_origin

    assert url_origin(url) == origin


def test_the_nul_marker_is_the_escape_msgspec_writes_and_compiles_cleanly() -> None:
    """``b"\\u0000"`` meant the right 6 bytes but is an invalid escape sequence: a
    DeprecationWarning on Python 3.11, a SyntaxWarning on 3.12, meant to become an error."""
    assert shaping._NUL == b"\\u0000"
    assert len(shaping._NUL) == 6
    assert shaping._NUL in shaping._ENCODE({"a": "x\x00y"})
    source = Path(shaping.__file__).read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(source, shaping.__file__, "exec")
