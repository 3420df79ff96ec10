"""Binary ``COPY`` framing: a text value the client encoding cannot carry is a refusal of its
record (a ``DataError``, as PostgreSQL gives one), never a ``UnicodeEncodeError`` that fails
the whole stream (real PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import psycopg
import pytest

from sendgrid_elt.copy_binary import framed_rows

_COLUMNS = "subuser, parent_key, record_key, record_hash, record"


def _row(subuser: str, parent: str, key: str) -> tuple:
    data = b'{"k": 1}'
    return subuser, parent, key, data, hashlib.md5(data, usedforsecurity=False).hexdigest(), None


@pytest.fixture
def conn(pg_database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:
        conn.execute(
            "create table t (subuser text, parent_key text, record_key text, record_hash text,"
            " record jsonb)"
        )
        yield conn


def _copy(conn: psycopg.Connection, rows: list) -> None:
    with (
        conn.transaction(),
        conn.cursor().copy(f"copy t ({_COLUMNS}) from stdin (format binary)") as cp,
    ):
        for buf in framed_rows(rows, 5, b"", b"", conn.info.encoding):
            cp.write(buf)


@pytest.mark.parametrize(
    ("encoding", "row"),
    [
        ("UTF8", _row("al\udcffice", "", "k1")),  # a lone surrogate (bytes that were not UTF-8)
        ("UTF8", _row("", "p\udcff", "k1")),
        ("UTF8", _row("", "", "k\udcff1")),
        ("LATIN1", _row("Łukasz", "", "k1")),  # outside a non-UTF-8 client encoding
        ("LATIN1", _row("", "", "Łukasz")),
    ],
)
def test_an_unencodable_text_value_is_a_refusal_of_its_record(conn, encoding, row) -> None:
    conn.execute(f"set client_encoding to '{encoding}'")
    with pytest.raises(psycopg.errors.DataError) as refused:
        _copy(conn, [_row("u", "", "ok"), row])
    assert refused.value.sqlstate == "22P05"
    assert "cannot carry" in str(refused.value)
    _copy(conn, [_row("u", "", "ok"), _row("ü", "", "k2")])  # the connection is usable after
    assert conn.execute("select record_key from t order by 1").fetchall() == [("k2",), ("ok",)]
