r"""JSON values as PostgreSQL can store them: repaired, classified, cut to their origin.

What :mod:`sendgrid_elt.records` does to one value of a record: a NUL character (``jsonb``
refuses ``\u0000``) and a lone UTF-16 surrogate become U+FFFD (counted), ``NaN``/``Infinity``
become ``null``; a value that cannot be stored at all raises :class:`Unloadable`, whose message
is the reject reason.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from sendgrid_hook.json_body import HugeInt, NonFinite, Unparsed
from sendgrid_hook.redaction import url_origin

from sendgrid_elt.rejects import REPAIRED, key_text

#: Deepest nesting the repair walk follows (SendGrid records are a few levels deep).
REPAIR_DEPTH = 200
_SURROGATE = re.compile("[\ud800-\udfff]")


class Unloadable(Exception):
    """The record cannot be stored (the message is the reject reason)."""


def origins(value: Any, keys: frozenset[str]) -> Any:
    """``value`` with every string under one of ``keys`` (at any depth) cut to its origin."""
    if type(value) is dict:
        return {k: url_origin(v) if k in keys and type(v) is str else origins(v, keys)
                for k, v in value.items()}  # fmt: skip
    if type(value) is list:
        return [origins(v, keys) for v in value]
    return value


def absent(value: Any) -> bool:
    return value is None or value == ""


def unclean(text: str) -> bool:
    """Whether ``text`` holds a character PostgreSQL text cannot (NUL, a lone surrogate)."""
    return "\x00" in text or _SURROGATE.search(text) is not None


def json_kind(value: Any) -> str:
    """The JSON kind of ``value``, for reject reasons."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | NonFinite | HugeInt):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, Unparsed):
        return "a value nested too deeply to parse"
    return "a list" if isinstance(value, list) else type(value).__name__


def key_text_of(value: Any, name: str) -> str:
    text = key_text(value)
    if text is None:
        raise Unloadable(f"primary key field not a scalar: {name} is {json_kind(value)}")
    return text


def clean(text: str, replaced: Counter) -> str:
    if "\x00" in text:
        replaced["NUL characters"] += text.count("\x00")
        text = text.replace("\x00", REPAIRED)
    text, n = _SURROGATE.subn(REPAIRED, text)
    if n:
        replaced["lone surrogates"] += n
    return text


def repair(value: Any, replaced: Counter, depth: int) -> Any:
    """A copy of ``value`` PostgreSQL can store; raises ``Unloadable`` when none exists."""
    if depth > REPAIR_DEPTH:
        raise Unloadable(f"nested deeper than {REPAIR_DEPTH} levels")
    if isinstance(value, str):
        return clean(value, replaced)
    if isinstance(value, dict):
        return {
            (clean(k, replaced) if isinstance(k, str) else k): repair(v, replaced, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [repair(v, replaced, depth + 1) for v in value]
    if isinstance(value, Unparsed | HugeInt):
        raise Unloadable(f"value {value.reason}")
    if isinstance(value, NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
        replaced["non-finite numbers"] += 1
        return None
    return value
