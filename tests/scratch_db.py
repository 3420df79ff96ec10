"""Scratch PostgreSQL databases for tests: created on a server, dropped (forcefully) after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sendgrid_elt.postgres_target import PostgresTarget


@contextmanager
def scratch_database(
    server: PostgresTarget, prefix: str = "test", name: str | None = None
) -> Iterator[PostgresTarget]:
    """Create a database on ``server``, yield a target for it and drop it afterwards.

    Args:
        server: The PostgreSQL server (its maintenance database).
        prefix: Start of the generated name (``<prefix>_<random hex>``).
        name: The exact name to use instead of a generated one.

    Yields:
        ``server`` pointed at the new database.
    """
    import psycopg
    from psycopg import sql

    name = name or f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield server.with_database(name)
    finally:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
