r"""Records that cannot be loaded, kept visibly in ``sendgrid_staging.rejects``.

A record is rejected when it cannot become a staging row: its primary key is missing, its
cursor value does not parse as the stream's cursor type, it is nested too deeply to parse, it
is not a JSON object, or PostgreSQL refuses it. The rest of its stream loads; the reject is
written **in the same transaction** as the batch it arrived with (a rerun that re-reads it
updates the same row: one row per distinct raw text, with how often and when it was last seen).

``raw`` holds the record's JSON text (ASCII, ``\u`` escapes for what text columns cannot
hold; a part too deep to parse appears as a JSON string of its raw text), scrubbed of secrets
and cut at :data:`RAW_LIMIT` characters; ``raw_size`` is the full length. The ``subuser`` and
``parent_key`` labels are part of the table's key, an index entry: one longer than
:data:`KEY_LIMIT` bytes is stored cut short with its md5 (:func:`index_label`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import md5
from typing import TYPE_CHECKING, Any

from sendgrid_hook.display import shorten
from sendgrid_hook.on_behalf_of import unsendable
from sendgrid_hook.redaction import scrub

from sendgrid_elt.echoed_secrets import mask_text
from sendgrid_elt.settings import STAGING_SCHEMA

if TYPE_CHECKING:
    import psycopg

#: Characters of raw text kept per reject.
RAW_LIMIT = 65_536
#: Longest record key or label, in UTF-8 bytes: an index entry holding the tenant, the labels
#: and the key must stay below PostgreSQL's 2,704-byte limit.
KEY_LIMIT = 1000
#: Keys of at most this many characters fit :data:`KEY_LIMIT` (4 UTF-8 bytes a character at
#: most): the common case, decided without encoding.
KEY_FITS_CHARS = KEY_LIMIT // 4
#: Characters of an over-long label kept in the rejects table (before its md5).
LABEL_KEPT = 200
#: What a NUL or a lone surrogate becomes in a stored value (``jsonb`` and text refuse them).
REPAIRED = "\ufffd"
_TABLE = f'"{STAGING_SCHEMA}".rejects'


@dataclass(frozen=True)
class Reject:
    """One record that could not be loaded.

    Attributes:
        subuser: Unit the record was read for (``''``: the parent account).
        parent_key: Fan-out parent id (``''`` when none).
        record_key: The record's key when it could be read, else ``None``.
        reason: Why it was rejected: field names and a short value excerpt (scrubbed of
            secrets when saved).
        raw: The record's JSON text (see the module docstring).
    """

    subuser: str
    parent_key: str
    record_key: str | None
    reason: str
    raw: str


def raw_text(record: Any) -> str:
    """JSON text of a (possibly unparseable) record, safe for a PostgreSQL text column."""
    try:
        text = json.dumps(record, ensure_ascii=True, default=_marker_text)
    except RecursionError:
        text = json.dumps("(record nested too deeply to print)")
    return storable(text)


def storable(text: str) -> str:
    r"""``text`` with what PostgreSQL text cannot hold written as visible escapes.

    A lone surrogate becomes ``\udxxx`` and a NUL ``\u0000`` (backslash and all): the text
    says what was there, and a ``text`` or ``jsonb`` column takes it.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def key_text(value: Any) -> str | None:
    r"""The record-key text of one key field's value; ``None`` for an object or a list.

    A string is kept as it is, except that what PostgreSQL text cannot hold is written as the
    visible escapes of :func:`storable` (``\u0000``, ``\udce9``): reversible, so two keys that
    differ only there stay apart (U+FFFD would merge them). A number is its text: ``7`` and
    ``"7"`` are one key, as SendGrid's ids are.
    """
    if type(value) is str:
        return storable(value)  # the same text when it holds neither
    if isinstance(value, dict | list):
        return None
    return str(value)


def joined_key(parts: list[str]) -> str:
    r"""The parts of a composite key joined with ``|``, unambiguously.

    A part holding ``|`` or ``\`` has them escaped (``\|``, ``\\``); a key without them is
    unchanged. A key of one part is that part.
    """
    if len(parts) == 1:
        return parts[0]
    return "|".join(
        p.replace("\\", "\\\\").replace("|", "\\|") if "|" in p or "\\" in p else p for p in parts
    )


def oversized(text: str) -> str | None:
    """How ``text`` exceeds :data:`KEY_LIMIT` (``"1000 characters"``, ``"1000 bytes ..."``).

    ``None`` when it fits. Characters are counted first (the reason most keys hit), then the
    UTF-8 bytes the index stores (1,000 CJK characters are about 3,000 bytes).
    """
    if len(text) <= KEY_FITS_CHARS:
        return None
    if len(text) > KEY_LIMIT:
        return f"{KEY_LIMIT} characters"
    if len(text.encode("utf-8", "surrogatepass")) > KEY_LIMIT:
        return f"{KEY_LIMIT} bytes (UTF-8)"
    return None


def unfaithful(value: str, parent: str = "subusers", field: str = "username") -> str | None:
    """Why an id read from staging is not SendGrid's (``None``: it is), as a reject reason.

    ``value`` is the ``field`` of a ``parent`` stream's stored record (by default a subuser's
    name), read back to be sent as a fan-out's id or as a unit's name. One holding
    :data:`REPAIRED` may have held a NUL or a lone surrogate, replaced when the record was
    stored: sent, it names nothing SendGrid holds (a 403 or 404 read as deleted, stats read as
    "no data"). The id SendGrid holds is unknown, so it is never sent, whichever the parent.
    """
    if REPAIRED in value:
        return (
            f"{parent}.{field} stored with U+FFFD (a NUL or a lone surrogate PostgreSQL cannot "
            "hold was replaced): the id SendGrid holds is unknown, not sent, not read"
        )
    return None


def unusable_unit(unit: str) -> str | None:
    """Why a subuser named ``unit`` is not read at all (``None``: it is read), as a reject reason.

    A name too long for an index entry cannot label rows (:func:`oversized`); one stored
    repaired is not SendGrid's (:func:`unfaithful`); one that cannot be sent as
    ``on-behalf-of`` (a control character: :func:`sendgrid_hook.on_behalf_of.unsendable`)
    cannot be read. Each would fail the unit on every run, or read it as refused; instead it is
    one reject per stream and the other subusers load.
    """
    too_long = oversized(unit)
    if too_long:
        return f"subuser name longer than {too_long}: its records cannot be stored, not read"
    repaired = unfaithful(unit)
    if repaired:
        return repaired
    problem = unsendable(unit)
    if problem:
        return f"subuser name {problem}: it cannot be sent as on-behalf-of, not read"
    return None


def index_label(text: str) -> str:
    """``text``, or when too long for an index entry its start and md5 (distinct, stable)."""
    if not oversized(text):
        return text
    digest = md5(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()
    return f"{text[:LABEL_KEPT]}... (md5 {digest})"


def _marker_text(value: Any) -> Any:
    text = getattr(value, "text", None)  # sendgrid_hook.json_body markers carry their raw text
    return text if isinstance(text, str) else repr(value)


def rejected_in_run(alias: str) -> str:
    """SQL: the row ``alias`` of a stream table has a reject of the same key in this run.

    Takes the parameters ``%(stream)s`` and ``%(run)s``. A snapshot keeps such a row current:
    its record was read (it exists in SendGrid) but could not be stored this time.
    """
    return (
        f"exists (select 1 from {_TABLE} r where r.tenant_id = {alias}.tenant_id "  # noqa: S608
        f"and r.stream = %(stream)s and r.run_id = %(run)s and r.subuser = {alias}.subuser "
        f"and r.parent_key = {alias}.parent_key and r.record_key = {alias}.record_key)"
    )


def save_rejects(
    conn: psycopg.Connection,
    tenant_id: str,
    stream: str,
    run_id: str,
    rejects: Sequence[Reject],
) -> None:
    """Upsert ``rejects`` inside the caller's transaction (one row per distinct raw text)."""
    if not rejects:
        return
    rows = []
    for r in rejects:
        raw = scrub(r.raw)  # a credential echoed in the record (see echoed_secrets)
        rows.append({
            "t": tenant_id,
            "s": stream,
            "u": index_label(mask_text(r.subuser)),
            "p": index_label(mask_text(r.parent_key)),
            "k": mask_text(r.record_key) if r.record_key else r.record_key,
            "reason": shorten(storable(scrub(r.reason)), 2000),
            "raw": raw[:RAW_LIMIT],
            "size": len(raw),
            "hash": md5(raw.encode(), usedforsecurity=False).hexdigest(),
            "run": run_id,
        })  # fmt: skip
    with conn.cursor() as cur:
        cur.executemany(
            f"""
            insert into {_TABLE} as r
                (tenant_id, stream, subuser, parent_key, record_key, reason, raw, raw_size,
                 raw_hash, run_id, first_run_id, created_at, last_seen_at, times_seen)
            values (%(t)s, %(s)s, %(u)s, %(p)s, %(k)s, %(reason)s, %(raw)s, %(size)s,
                    %(hash)s, %(run)s, %(run)s, now(), now(), 1)
            on conflict (tenant_id, stream, subuser, parent_key, raw_hash) do update set
                record_key = excluded.record_key, reason = excluded.reason,
                run_id = excluded.run_id, last_seen_at = excluded.last_seen_at,
                times_seen = r.times_seen + 1
            """,  # noqa: S608
            rows,
        )
