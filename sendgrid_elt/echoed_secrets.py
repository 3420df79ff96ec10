"""Credentials a server echoes back inside records: found once per page, masked before storage.

The hook registers every secret it handles (:func:`sendgrid_hook.redaction.register_secret`)
in every form it travels in (verbatim, URL-encoded, base64, JSON-escaped). A record holding one
(an error field repeating the key, a value pasted by a user) must not reach a table as it is.

:func:`mask_rows` looks for the registered forms once per page, in the rows' JSON bytes joined
(one substring search per form: on a clean page nothing else happens), and rebuilds only the
rows that hold one, every string of the record masked with :data:`~sendgrid_hook.redaction.MASK`
(key, labels and hash follow). :func:`mask` does the same to one text (reject labels).
"""

from __future__ import annotations

from hashlib import md5
from typing import TYPE_CHECKING, Any

import msgspec
from sendgrid_hook import redaction

if TYPE_CHECKING:
    from sendgrid_elt.records import Row

_ENCODE = msgspec.json.Encoder(order="sorted").encode
_DECODE = msgspec.json.Decoder().decode
#: The hook's registered forms and the same as UTF-8 bytes (re-encoded when more arrive).
_cache: tuple[tuple[str, ...], tuple[bytes, ...]] = ((), ())


def _forms() -> tuple[tuple[str, ...], tuple[bytes, ...]]:
    """Every registered form of every secret, longest first, as text and as bytes."""
    global _cache
    texts = redaction.registered_forms()
    if texts is not _cache[0]:
        _cache = (texts, tuple(t.encode("utf-8", "surrogatepass") for t in texts))
    return _cache


def mask(text: str) -> str:
    """``text`` with every registered form of a secret replaced by the mask."""
    texts, _ = _forms()
    for form in texts:
        if form in text:
            text = text.replace(form, redaction.MASK)
    return text


def mask_rows(rows: list[Row]) -> list[Row]:
    """``rows`` with every row whose JSON holds a registered secret rebuilt, masked.

    One search per form over the page's bytes; a row is decoded and re-encoded only on a hit.
    """
    _, forms = _forms()
    if not forms or not rows:
        return rows
    page = b"\n".join([row[3] for row in rows])
    if not any(form in page for form in forms):
        return rows
    return [_masked(row, forms) if any(f in row[3] for f in forms) else row for row in rows]


def _masked(row: Row, forms: tuple[bytes, ...]) -> Row:
    subuser, parent_key, key, data, _, cursor = row
    data = _ENCODE(_mask_value(_DECODE(data)))
    digest = md5(data, usedforsecurity=False).hexdigest()
    return mask(subuser), mask(parent_key), mask(key), data, digest, cursor


def _mask_value(value: Any) -> Any:
    if type(value) is str:
        return mask(value)
    if type(value) is dict:
        return {mask(k): _mask_value(v) for k, v in value.items()}
    if type(value) is list:
        return [_mask_value(v) for v in value]
    return value
