"""The transport's body decoder: strict JSON fast, the values PostgreSQL refuses marked, deep
nesting salvaged record by record, and anything that is not JSON refused (so it is retried)."""

from __future__ import annotations

import pytest
from sendgrid_hook.json_body import NonFinite, Unparsed, parse_json


def test_plain_json_decodes_as_is() -> None:
    body = b'{"result": [{"email": "a@x.org", "created": 1, "n": 1.5, "s": "\\u00e9"}]}'
    assert parse_json(body) == {"result": [{"email": "a@x.org", "created": 1, "n": 1.5,
                                            "s": "\u00e9"}]}  # fmt: skip


def test_non_finite_numbers_become_markers() -> None:
    out = parse_json(b'[{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e400, "e": 2}]')
    assert out == [{"a": NonFinite("NaN"), "b": NonFinite("Infinity"),
                    "c": NonFinite("-Infinity"), "d": NonFinite("1e400"), "e": 2}]  # fmt: skip


def test_lone_surrogates_and_bad_utf8_survive_decoding() -> None:
    out = parse_json(b'[{"a": "x\\ud800y", "b": "bad \xff byte", "c": "\\ud83d\\ude00"}]')
    assert out[0]["a"] == "x\ud800y"
    assert out[0]["b"] == "bad \udcff byte"  # surrogateescape: repaired later, counted
    assert out[0]["c"] == "\U0001f600"  # a real pair is one character


def test_deep_nesting_is_salvaged_per_value() -> None:
    deep = b"[" * 5000 + b"]" * 5000
    body = b'[{"email": "a@x"}, {"email": "b@x", "deep": ' + deep + b'}, {"email": "c@x"}]'
    out = parse_json(body)
    assert out[0] == {"email": "a@x"}
    assert out[2] == {"email": "c@x"}
    assert out[1]["email"] == "b@x"
    node = out[1]["deep"]
    while isinstance(node, list):
        node = node[0]
    assert isinstance(node, Unparsed)
    assert node.text.startswith("[[[")
    assert node.text.endswith("]]]")


def test_deep_record_inside_an_object_body() -> None:
    body = b'{"result": [' + b"[" * 3000 + b"]" * 3000 + b'], "_metadata": {"next": "n"}}'
    out = parse_json(body)
    assert out["_metadata"] == {"next": "n"}
    assert len(out["result"]) == 1


@pytest.mark.parametrize(
    "body", [b'[{"a": 1', b'{"a": 1}}', b"[" * 5000, b"<html>502</html>", b"[1, 2] x"]
)
def test_not_json_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse_json(body)
