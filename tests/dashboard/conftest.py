"""Fixtures: the reporting models in a database shared by the module, the rendered page.

Rendering does not write to the warehouse, so one database per test module is enough (and keeps
the suite fast); tests that need other contents (empty models) use ``pg_database``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .marts_fixture import Row, load_marts
from .page_reader import PageReader, read_page

GENERATED_AT = dt.datetime(2026, 11, 28, 7, 0, tzinfo=dt.UTC)


@dataclass
class Rendered:
    """A dashboard written from the fixture marts."""

    path: Path
    html: str
    page: PageReader
    rows: dict[str, list[Row]]
    conninfo: str

    def mart(self, model: str, **match: Any) -> list[Row]:
        """The stored rows of ``model`` matching ``match``."""
        return [r for r in self.rows[model] if all(r[k] == v for k, v in match.items())]

    def sql(self, query: str, *params: Any, **named: Any) -> list[Row]:
        """Rows of a SQL query on the fixture warehouse (``{schema}``: the marts schema)."""
        import psycopg
        from psycopg.rows import dict_row

        from sendgrid_elt.settings import MARTS_SCHEMA

        with psycopg.connect(self.conninfo) as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query.replace("{schema}", MARTS_SCHEMA), named or params)  # type: ignore[arg-type]
            return cur.fetchall()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    """A monkeypatch for the module's fixtures."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def marts_database(postgres_server) -> Iterator[str]:
    """A database holding the fixture marts, for the module; yields its conninfo."""
    import psycopg
    from psycopg import sql

    name = f"test_dash_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield postgres_server.with_database(name).conninfo()
    finally:
        with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def rendered(
    marts_database: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any
) -> Rendered:
    """The dashboard of the fixture warehouse, without a configured Airflow base URL."""
    from sendgrid_dashboard.render import BASE_URL_ENV

    for name in BASE_URL_ENV:
        monkeypatch_module.delenv(name, raising=False)

    rows = load_marts(marts_database)
    return _render(marts_database, rows, tmp_path_factory.mktemp("dashboard") / "dashboard.html")


@pytest.fixture
def counted_once(pg_database: Any, tmp_path: Path) -> Rendered:
    """The dashboard of the fixture warehouse where ``globex_eu`` reaches the account of
    ``acme_prod`` (connected first) and ``xss_tenant`` is a subuser of ``acme_prod``."""
    conninfo = pg_database.conninfo()
    rows = load_marts(
        conninfo, duplicates={"globex_eu": "acme_prod"}, subusers={"xss_tenant": "acme_prod"}
    )
    return _render(conninfo, rows, tmp_path / "counted-once.html")


@pytest.fixture
def left_behind(pg_database: Any, tmp_path: Path) -> Rendered:
    """The dashboard of the fixture warehouse after a transform run that left models behind:
    its ``sendgrid_build_status`` is ``build_status_fixture.LEFT_BEHIND``."""
    from .build_status_fixture import LEFT_BEHIND, run_statuses, write_build_status

    conninfo = pg_database.conninfo()
    rows = load_marts(conninfo)
    write_build_status(conninfo, run_statuses(LEFT_BEHIND))
    return _render(conninfo, rows, tmp_path / "left-behind.html")


def _render(conninfo: str, rows: dict, out: Path) -> Rendered:
    """Write the dashboard of ``conninfo`` to ``out`` (pinned generation time) and read it."""
    from sendgrid_dashboard import write_dashboard

    path = write_dashboard(conninfo, out, generated_at=GENERATED_AT)
    html = path.read_text(encoding="utf-8")
    return Rendered(path=path, html=html, page=read_page(html), rows=rows, conninfo=conninfo)
