"""The transport's body decoder: strict JSON fast, the values PostgreSQL refuses marked, deep
nesting salvaged record by record, and anything that is not JSON refused (so it is retried)."""

from __future__ import annotations

import pytest
from sendgrid_hook.json_body import HugeInt, NonFinite, Unparsed, parse_json


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


def test_bad_utf8_alone_takes_the_lenient_path() -> None:
    """msgspec raises ``UnicodeDecodeError`` (not a ``DecodeError``) for a string that is not
    UTF-8: the body was taken for a truncated one, retried and failed."""
    assert parse_json(b'[{"name": "al\xffice"}]') == [{"name": "al\udcffice"}]


def test_integers_stay_exact_and_a_literal_too_long_for_int_is_marked() -> None:
    """msgspec and ``int()`` refuse a literal over 4,300 digits; the page failed as if it were
    truncated. It becomes ``HugeInt`` (its text kept); every other integer stays exact."""
    big = "1" + "0" * 5000
    body = (b'{"result": [{"a": 123456789012345678901234567890, "b": -7}, {"n": ' + big.encode()
            + b', "m": -' + big.encode() + b"}]}")  # fmt: skip
    out = parse_json(body)
    assert out["result"][0] == {"a": 123456789012345678901234567890, "b": -7}
    assert out["result"][1] == {"n": HugeInt(big), "m": HugeInt("-" + big)}
    assert "4300" in HugeInt(big).reason
