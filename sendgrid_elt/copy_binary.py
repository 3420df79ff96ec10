"""Binary ``COPY`` framing of staging rows, built in one pass with no per-row Python tuples.

PostgreSQL's binary ``COPY`` format is a signature, then per row a 16-bit field count and per
field a 32-bit length and the value's bytes (:data:`SIGNATURE`; psycopg's ``Copy.end`` writes
the trailer). A staging row's record JSON arrives as bytes from :mod:`sendgrid_elt.records`:
it is appended as it is behind the ``jsonb`` version byte, never re-serialized. The columns
that are the same for every row of a batch (tenant, seen times, run id) are framed once per
batch by the caller, and each ``(subuser, parent_key)`` pair once per call.

A text value the client encoding cannot carry raises what PostgreSQL raises for one
(``UntranslatableCharacter``, a ``DataError``), never a ``UnicodeEncodeError``: the loader
treats it as a refusal of that record. (:mod:`sendgrid_elt.records` already stores the
labels it derives from record values repaired, so with UTF-8 this is a safety net.)

This replaces ``Copy.write_row`` (a tuple per row, a dumper call per value, one Python-level
call per ``jsonb``), which cost more client CPU than the ``COPY`` it fed.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.errors import UntranslatableCharacter
from psycopg.pq import Format

if TYPE_CHECKING:
    from sendgrid_elt.records import Row

#: Binary COPY header: signature, flags (0), header extension length (0).
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" * 2
#: Bytes framed before a buffer is handed to ``Copy.write``: the server parses one buffer while
#: the next is framed; below psycopg's 128 KiB write size, so no buffer is sliced again.
BUFFER_BYTES = 120 * 1024
_INT32 = struct.Struct(">i").pack
_INT16 = struct.Struct(">h").pack
_INT64 = struct.Struct(">q").pack
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_JSONB_VERSION = b"\x01"


def text_field(value: str, encoding: str = "utf-8") -> bytes:
    """One ``text`` field: length and bytes.

    Raises:
        psycopg.errors.UntranslatableCharacter: ``value`` has a character ``encoding`` cannot
            carry (see :func:`unencodable`).
    """
    try:
        data = value.encode(encoding)
    except UnicodeEncodeError as exc:
        raise unencodable(exc) from None
    return _INT32(len(data)) + data


def unencodable(exc: UnicodeEncodeError) -> UntranslatableCharacter:
    """The refusal of a text value framing cannot encode, as PostgreSQL itself refuses one.

    A lone surrogate, or a character outside a non-UTF-8 client encoding, gives what the
    server answers for a character its encoding cannot carry: SQLSTATE 22P05, a ``DataError``.
    The loader isolates a refused record from its batch and keeps it as a reject, so one such
    value refuses one record, never its stream.
    """
    bad = exc.object[exc.start : exc.end]
    return UntranslatableCharacter(
        f"text value {exc.object[:60]!r} has a character the client encoding {exc.encoding} "
        f"cannot carry ({bad!r} at {exc.start})"
    )


def timestamptz_field(value: dt.datetime) -> bytes:
    """One ``timestamptz`` field: microseconds since 2000-01-01 UTC (an aware datetime)."""
    return _INT32(8) + _INT64((value - _PG_EPOCH) // _MICROSECOND)


def framed_rows(
    rows: list[Row], fields: int, head: bytes, tail: bytes, encoding: str = "utf-8"
) -> Iterator[bytearray]:
    """Buffers of binary ``COPY`` rows (the first one starts with :data:`SIGNATURE`).

    Each row is ``head``, then the row's ``subuser, parent_key, record_key, record_hash,
    record`` (``jsonb``), then ``tail``.

    Args:
        rows: Staging rows.
        fields: Columns per row (the five of the row plus those framed in ``head``/``tail``).
        head: Framed fields before the row's own (e.g. the tenant id).
        tail: Framed fields after them (e.g. seen times and the run id).
        encoding: The connection's client encoding (Python codec name).
    """
    count = _INT16(fields)
    units: dict[tuple[str, str], bytes] = {}
    buf = bytearray(SIGNATURE)
    pack, version, limit = _INT32, _JSONB_VERSION, BUFFER_BYTES
    for subuser, parent_key, key, data, digest, _ in rows:
        prefix = units.get((subuser, parent_key))
        if prefix is None:
            prefix = count + head + text_field(subuser, encoding)
            prefix += text_field(parent_key, encoding)
            units[subuser, parent_key] = prefix
        try:
            key_bytes, hash_bytes = key.encode(encoding), digest.encode(encoding)
        except UnicodeEncodeError as exc:
            raise unencodable(exc) from None
        buf += prefix
        buf += pack(len(key_bytes))
        buf += key_bytes
        buf += pack(len(hash_bytes))
        buf += hash_bytes
        buf += pack(len(data) + 1)
        buf += version
        buf += data
        buf += tail
        if len(buf) >= limit:
            yield buf
            buf = bytearray()
    if buf:  # the signature alone when there is no row
        yield buf


class JsonbBytes(Dumper):
    """Binary ``jsonb`` from JSON bytes as they are (version byte + text), for ``write_row``.

    The loader frames its rows itself; this dumper serves plain ``Copy.write_row`` users (the
    raw ``COPY`` peer of ``bench/bench_extract_load.py``).
    """

    format = Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: bytes) -> bytes:
        """Prefix the jsonb version."""
        return _JSONB_VERSION + obj
