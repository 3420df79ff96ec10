"""Fixtures of the record tests that load rows into a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest


@pytest.fixture
def pg(pg_database: Any) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a fresh warehouse database with the staging schema."""
    from sendgrid_elt.staging_schema import ensure_schema_url

    ensure_schema_url(pg_database.sqlalchemy_url())
    with psycopg.connect(pg_database.conninfo(), autocommit=True) as conn:
        yield conn
