r"""Distinct API records keep distinct staging keys; what still shares one is counted.

A review found records merged onto one key and one of them dropped without trace: a byte that
is not UTF-8 or a NUL repaired to U+FFFD in a key, ``|`` inside a composite key's part, an
object's Python repr as a key. Staged rows, rejects and the records counted as not stored
(a key twice in a read) now account for every record received.
"""

from __future__ import annotations

import pytest
from sendgrid_hook.json_body import parse_json

from sendgrid_elt import catalog
from sendgrid_elt.loader import StagingLoader
from sendgrid_elt.records import Shaper, ShapeStats
from sendgrid_elt.rejects import Reject
from sendgrid_elt.settings import STAGING_SCHEMA

#: ``stream: (API body, the keys its records get)``: each pair merged into one key before.
DISTINCT = {
    "categories": (b'[{"category": "caf\xe9"}, {"category": "caf\xe8"}]',  # Latin-1 bytes
                   ["caf\\udce9", "caf\\udce8"]),
    "teammates": (b'[{"username": "x\\ud800"}, {"username": "x\\udbff"},'
                  b' {"username": "x\\u0000"}, {"username": "x\xff"}]',
                  ["x\\ud800", "x\\udbff", "x\\u0000", "x\\udcff"]),
    "automation_stats": (b'[{"id": "a|b", "step_id": "c", "aggregation": "total"},'
                         b' {"id": "a", "step_id": "b|c", "aggregation": "total"},'
                         b' {"id": "a\\\\", "step_id": "|c", "aggregation": "total"},'
                         b' {"id": "a", "step_id": "\\\\|c", "aggregation": "total"}]',
                         ["a\\|b|c|total", "a|b\\|c|total", "a\\\\|\\|c|total",
                          "a|\\\\\\|c|total"]),
}  # fmt: skip


def _shape(name: str, body: bytes) -> tuple[list, list, list, Shaper]:
    shaper = Shaper(catalog.get(name))
    records = parse_json(body)
    rows, rejects = shaper.rows(records, "", None)
    return records, rows, rejects, shaper


@pytest.mark.parametrize("name", sorted(DISTINCT))
def test_distinct_records_keep_distinct_keys(name) -> None:
    body, keys = DISTINCT[name]
    _, rows, rejects, _ = _shape(name, body)
    assert rejects == []
    assert [r[2] for r in rows] == keys
    for key in keys:
        key.encode()  # storable: no lone surrogate, no NUL
        assert "\x00" not in key


def test_keys_without_a_bar_or_backslash_are_unchanged() -> None:
    """Keys already staged must not change: only a composite part holding ``|`` or ``\\``."""
    body = b'[{"date": "2026-11-01", "stats": [{"name": "news"}, {"name": "caf\xc3\xa9 #1"}]}]'
    _, rows, _, _ = _shape("category_stats", body)
    assert [r[2] for r in rows] == ["2026-11-01|news", "2026-11-01|café #1"]
    # one-field keys are never escaped (no join to confuse)
    _, rows, _, _ = _shape("bounces", b'[{"email": "a|b\\\\@x.org", "created": 1}]')
    assert [r[2] for r in rows] == ["a|b\\@x.org"]
    body = b'[{"id": "s1", "ab_variation": "", "ab_phase": "all", "aggregation": "total"}]'
    _, rows, _, _ = _shape("singlesend_stats", body)
    assert [r[2] for r in rows] == ["s1||all|total"]  # an empty optional part


@pytest.mark.parametrize(
    ("name", "record", "field", "kind"),
    [
        ("teammates", {"username": {"first": "x"}}, "username", "an object"),
        ("teammates", {"username": ["x"]}, "username", "a list"),
        ("bounces", {"email": {"a": 1}, "created": 1}, "email", "an object"),  # fast path
        ("automation_stats", {"id": "a", "step_id": {"b": 1}, "aggregation": "total"},
         "step_id", "an object"),
        ("teammates", {"username": {"x": "\udce9"}}, "username", "an object"),  # and dirty
    ],
)  # fmt: skip
def test_an_object_or_list_as_a_key_field_is_rejected(name, record, field, kind) -> None:
    shaper = Shaper(catalog.get(name))
    rows, [reject] = shaper.rows([record], "", None)
    assert rows == []
    assert isinstance(reject, Reject)
    assert reject.reason == f"primary key field not a scalar: {field} is {kind}"
    assert reject.record_key is None
    assert shaper.stats.reasons == {"primary key field not a scalar": 1}


def test_a_number_and_its_text_are_one_key() -> None:
    _, rows, _, _ = _shape("teammates", b'[{"username": 7}, {"username": "7"}]')
    assert [r[2] for r in rows] == ["7", "7"]


def test_staged_rows_rejects_and_duplicates_account_for_every_record(pg) -> None:
    """Every record received is a staged row, a reject or counted as not stored."""
    cases = {name: body for name, (body, _) in DISTINCT.items()}
    # 7 and "7": one key, the last kept; the exact repeat is no loss; the object a reject
    more = b', {"username": 7, "n": 1}, {"username": "7"}, {"username": "7"}, {"username": {}}]'
    cases["teammates"] = cases["teammates"][:-1] + more
    for name, body in cases.items():
        records, rows, rejects, _ = _shape(name, body)
        writer = StagingLoader(pg, "t", "r1").stream(catalog.get(name))
        writer.write_unit("", iter([(rows, rejects)]))
        staged = pg.execute(
            f'select count(*) from "{STAGING_SCHEMA}"."{name}" '  # noqa: S608
            "where tenant_id = %s and is_current",
            ("t",),
        ).fetchone()[0]
        kept = pg.execute(
            f'select count(*) from "{STAGING_SCHEMA}".rejects where stream = %s',  # noqa: S608
            (name,),
        ).fetchone()[0]
        exact_repeats = 1 if name == "teammates" else 0
        assert staged + kept + writer.duplicates + exact_repeats == len(records), name
        if name == "teammates":
            assert (staged, kept, writer.duplicates) == (5, 1, 1)
            stored = pg.execute(
                f'select record from "{STAGING_SCHEMA}".teammates where record_key = %s',  # noqa: S608
                ("7",),
            ).fetchone()[0]
            assert stored == {"username": "7"}
        else:
            assert (kept, writer.duplicates) == (0, 0)


def test_the_stream_detail_says_records_were_not_stored() -> None:
    assert ShapeStats(duplicates=2).summary() == (
        "2 records not stored: another record of the same read had their key "
        "(the latest by cursor, else the last, kept)"
    )
