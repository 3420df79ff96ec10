"""Credentials a server echoes back inside records: found once per page, masked before storage.

The hook knows the credentials it sends (:meth:`SendGridHook.secret_forms`: each in every
form it travels in, verbatim, URL-encoded, base64, JSON-escaped). A record holding one (an
error field repeating the key, a value pasted by a user) must not reach a table as it is.

:func:`mask_rows` looks for those forms once per page, in the rows' JSON bytes joined (one
substring search per form: on a clean page nothing else happens), and rebuilds only the rows
that hold one, every string of the record masked with :data:`~sendgrid_hook.redaction.MASK`
(key, labels and hash follow) by :func:`~sendgrid_hook.redaction.mask_known`.

Any other SendGrid API key a record holds (``SG.<id>.<secret>``: one a user pasted as a key's
name, a subuser's key in a template's code sample) is masked the same way
(:func:`~sendgrid_hook.redaction.mask_api_keys`): the page is searched for ``SG.`` once, and a
row that holds it but no key keeps its bytes.
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
    """``rows`` with every row whose JSON holds one of ``forms`` or an API key rebuilt, masked.

    ``forms`` are the credentials of the tenant being read (``SendGridHook.secret_forms``: a
    server echoes the credential it was sent), so the cost does not grow with the number of
    tenants a process reads. One search per form, and one for ``SG.``, over the page's bytes;
    a row is decoded only on a hit, and re-encoded only when something was masked.
    """
    if not rows:
        return rows
    needles = _as_bytes(forms) if forms else ()
    page = b"\n".join([row[3] for row in rows])
    if _KEY_MARK not in page and not any(form in page for form in needles):
        return rows
    return [_masked(row) if _holds(row[3], needles) else row for row in rows]


#: What every SendGrid API key starts with (searched for before the key pattern is run).
_KEY_MARK = b"SG."


def _holds(data: bytes, needles: tuple[bytes, ...]) -> bool:
    return _KEY_MARK in data or any(f in data for f in needles)


def _masked(row: Row) -> Row:
    subuser, parent_key, key, data, digest, cursor = row
    value = _DECODE(data)
    masked = _mask_value(value)
    if masked != value:
        data = _ENCODE(masked)
        digest = md5(data, usedforsecurity=False).hexdigest()
    return mask_text(subuser), mask_text(parent_key), mask_text(key), data, digest, cursor


def mask_text(text: str) -> str:
    """``text`` with every registered secret and every SendGrid API key masked.

    Exact forms only: a record's strings and labels, where scrub's looser patterns (fragments
    at line ends, ``password=...``) would mask ordinary data.
    """
    return redaction.mask_api_keys(redaction.mask_known(text))


def _mask_value(value: Any) -> Any:
    if type(value) is str:
        return mask_text(value)
    if type(value) is dict:
        return {mask_text(k): _mask_value(v) for k, v in value.items()}
    if type(value) is list:
        return [_mask_value(v) for v in value]
    return value
