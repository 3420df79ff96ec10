r"""Decode a JSON response body fast, and tolerate the values a strict parser refuses.

:func:`parse_json` is the transport's one body decoder:

1. **msgspec** decodes almost every body (strict JSON, about 3x faster than :mod:`json`);
2. bodies msgspec refuses but that carry data are decoded by :mod:`json` with two markers:
   ``NaN``/``Infinity``/``-Infinity`` (and numbers too large for a double) become
   :class:`NonFinite`, integer literals too long for ``int()`` become :class:`HugeInt`
   (other integers stay exact however large), bytes that are not UTF-8 become lone
   surrogates (``surrogateescape``), lone ``\ud800``-style escapes stay lone surrogates;
3. a body nested deeper than the parser's recursion limit is **salvaged**: every value that
   cannot be parsed becomes :class:`Unparsed` (its raw text kept), so the records around it
   still arrive.

The markers are never JSON-serializable: code that encodes a record without first repairing
it fails loudly instead of storing a silently altered value. ``sendgrid_elt.records`` repairs
(lone surrogates, ``NonFinite``) or rejects (``Unparsed``, ``HugeInt``) them and counts what
it did.

Anything else that is not JSON (a truncated body) raises :class:`ValueError`, which the
transport retries.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

import msgspec

_FAST = msgspec.json.Decoder()
_BOM = b"\xef\xbb\xbf"
#: Containers the salvage parser opens by hand before it hands values to the C parser again.
SALVAGE_DEPTH = 4
_WS = re.compile(r"[ \t\n\r]*")
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


class _Marker:
    """A value a strict JSON encoder must refuse (no dataclass: msgspec would encode it)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.text == self.text  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.text))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text[:40]!r})"


class NonFinite(_Marker):
    """A number JSON cannot carry (``NaN``, ``Infinity``, ``1e400``); ``text`` as received."""

    __slots__ = ()


class Unparsed(_Marker):
    """A value nested too deeply to parse; ``text`` is its raw JSON text."""

    __slots__ = ()
    reason = "nested deeper than the JSON parser's recursion limit"


class HugeInt(_Marker):
    """An integer literal longer than Python's int-string limit (4,300 digits by default).

    ``int()`` refuses it (``sys.get_int_max_str_digits``), and so does msgspec; ``text`` is
    the literal as received.
    """

    __slots__ = ()

    @property
    def reason(self) -> str:
        """Why the value cannot be stored (a reject reason)."""
        return f"an integer literal of more than {_int_digits()} digits"


def _int_digits() -> int:
    return sys.get_int_max_str_digits() or sys.int_info.default_max_str_digits


def _constant(name: str) -> NonFinite:
    return NonFinite(name)


def _float(text: str) -> float | NonFinite:
    value = float(text)
    return value if math.isfinite(value) else NonFinite(text)


def _int(text: str) -> int | HugeInt:
    try:
        return int(text)  # exact, however large, up to the int-string limit
    except ValueError:
        return HugeInt(text)


_LENIENT = json.JSONDecoder(parse_constant=_constant, parse_float=_float, parse_int=_int)


def parse_json(content: bytes) -> Any:
    """Decode ``content`` (see the module docstring for the three paths).

    A UTF-8 byte order mark before the value is dropped (RFC 8259 §8.1 lets a parser ignore
    it); refused, the body would be retried and finally called truncated.

    Raises:
        ValueError: The body is not JSON (truncated, cut, garbage).
    """
    if content.startswith(_BOM):
        content = content[len(_BOM) :]
    try:
        return _FAST.decode(content)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        pass  # msgspec raises UnicodeDecodeError for a string that is not UTF-8
    except RecursionError:
        return salvage(content.decode("utf-8", "surrogateescape"))
    text = content.decode("utf-8", "surrogateescape")
    try:
        return _LENIENT.decode(text)
    except RecursionError:
        return salvage(text)


def salvage(text: str) -> Any:
    """Parse ``text``, turning each value too deep to parse into :class:`Unparsed`.

    Raises:
        ValueError: The text is not JSON.
    """
    value, end = _value(text, _skip(text, 0), SALVAGE_DEPTH)
    if _skip(text, end) != len(text):
        raise ValueError("extra data after the JSON value")
    return value


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def _value(text: str, pos: int, levels: int) -> tuple[Any, int]:
    """One value at ``pos``: C-parsed when possible, else opened by hand or kept raw."""
    try:
        return _LENIENT.raw_decode(text, pos)
    except RecursionError:
        pass
    if levels <= 0 or text[pos] not in "[{":
        end = _value_end(text, pos)
        return Unparsed(text[pos:end]), end
    if text[pos] == "[":
        return _array(text, pos, levels - 1)
    return _object(text, pos, levels - 1)


def _array(text: str, pos: int, levels: int) -> tuple[list, int]:
    out: list[Any] = []
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return out, pos + 1
    while True:
        item, pos = _value(text, pos, levels)
        out.append(item)
        pos = _skip(text, pos)
        if text.startswith("]", pos):
            return out, pos + 1
        pos = _expect(text, pos, ",")


def _object(text: str, pos: int, levels: int) -> tuple[dict, int]:
    out: dict[str, Any] = {}
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        return out, pos + 1
    while True:
        key, pos = _LENIENT.raw_decode(text, pos)
        if not isinstance(key, str):
            raise ValueError(f"object key expected at {pos}")
        pos = _expect(text, _skip(text, pos), ":")
        out[key], pos = _value(text, pos, levels)
        pos = _skip(text, pos)
        if text.startswith("}", pos):
            return out, pos + 1
        pos = _expect(text, pos, ",")


def _expect(text: str, pos: int, char: str) -> int:
    if not text.startswith(char, pos):
        raise ValueError(f"{char!r} expected at {pos}")
    return _skip(text, pos + 1)


def _value_end(text: str, pos: int) -> int:
    """End of the container starting at ``pos``, found without recursion."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text, pos):
        char = match.group()[0]
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if depth == 0:
            return match.end()
    raise ValueError("unterminated JSON value")
