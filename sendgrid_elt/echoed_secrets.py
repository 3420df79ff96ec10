"""Credentials a server echoes back inside records: found once per page, masked before storage.

The hook knows the credentials it sends (:meth:`SendGridHook.secret_forms`: each in every
form it travels in, verbatim, URL-encoded, base64, JSON-escaped). A record holding one (an
error field repeating the key, a value pasted by a user) must not reach a table as it is.

:func:`mask_rows` looks for those forms once per page, in the rows' JSON bytes joined (one
substring search per form: on a clean page nothing else happens), and rebuilds only the rows
that hold one, every string of the record masked with :data:`~sendgrid_hook.redaction.MASK`
(key, labels and hash follow) by :func:`~sendgrid_hook.redaction.mask_known`.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import md5
from typing import TYPE_CHECKING, Any

import msgspec
from sendgrid_hook import redaction

if TYPE_CHECKING:
    from sendgrid_elt.records import Row

_ENCODE = msgspec.json.Encoder(order="sorted").encode
_DECODE = msgspec.json.Decoder().decode


@lru_cache(maxsize=64)
def _as_bytes(forms: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(f.encode("utf-8", "surrogatepass") for f in forms)


def mask_rows(rows: list[Row], forms: tuple[str, ...]) -> list[Row]:
    """``rows`` with every row whose JSON holds one of ``forms`` rebuilt, masked.

    ``forms`` are the credentials of the tenant being read (``SendGridHook.secret_forms``: a
    server echoes the credential it was sent), so the cost does not grow with the number of
    tenants a process reads. One search per form over the page's bytes; a row is decoded and
    re-encoded only on a hit.
    """
    if not forms or not rows:
        return rows
    needles = _as_bytes(forms)
    page = b"\n".join([row[3] for row in rows])
    if not any(form in page for form in needles):
        return rows
    return [_masked(row, needles) if any(f in row[3] for f in needles) else row for row in rows]


def _masked(row: Row, forms: tuple[bytes, ...]) -> Row:
    subuser, parent_key, key, data, _, cursor = row
    data = _ENCODE(_mask_value(_DECODE(data)))
    digest = md5(data, usedforsecurity=False).hexdigest()
    mask = redaction.mask_known
    return mask(subuser), mask(parent_key), mask(key), data, digest, cursor


def _mask_value(value: Any) -> Any:
    if type(value) is str:
        return redaction.mask_known(value)
    if type(value) is dict:
        return {redaction.mask_known(k): _mask_value(v) for k, v in value.items()}
    if type(value) is list:
        return [_mask_value(v) for v in value]
    return value
