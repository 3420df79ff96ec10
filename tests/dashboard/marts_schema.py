"""The fixture marts' tables and the facts every row builder shares.

The DDL is generated from the contracts of ``dbt_project/models/marts/_sendgrid__marts.yml`` and
``dbt_project/models/reporting/_sendgrid__reporting.yml`` (column names, data types and not-null
constraints). Here too: the as-of instants of the fixture warehouse, its four tenants
(``TENANTS``, described in ``marts_fixture``) and the small arithmetic the builders share.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql

from sendgrid_elt.settings import MARTS_SCHEMA

REPO = Path(__file__).resolve().parents[2]
MODELS_YML = (
    REPO / "dbt_project" / "models" / "marts" / "_sendgrid__marts.yml",
    REPO / "dbt_project" / "models" / "reporting" / "_sendgrid__reporting.yml",
)
SCHEMA = MARTS_SCHEMA

TODAY = dt.date(2026, 11, 28)
LAST_STATS_DAY = TODAY - dt.timedelta(days=1)
SYNC_AT = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)
BUILD_AT = dt.datetime(2026, 11, 28, 6, 20, tzinfo=dt.UTC)
AS_OF = SYNC_AT  # the transform's as-of instant (var sendgrid_as_of)
REVOKED_AT = dt.datetime(2026, 11, 27, 0, 10, tzinfo=dt.UTC)
XSS_NAME = '<script>alert("x")</script> & Sons'

Row = dict[str, Any]


@functools.cache
def mart_columns() -> dict[str, list[tuple[str, str, bool]]]:
    """model → [(column, data_type, not_null)] from the marts and reporting yml."""
    models = {}
    for model in (m for path in MODELS_YML for m in yaml.safe_load(path.read_text())["models"]):
        cols = []
        for col in model["columns"]:
            not_null = any(c.get("type") == "not_null" for c in col.get("constraints") or [])
            cols.append((col["name"], col["data_type"], not_null))
        models[model["name"]] = cols
    return models


def create_marts(conn: psycopg.Connection) -> None:
    """The reporting models' tables (only those: the dashboard reads nothing else), empty."""
    for model in mart_columns():
        if model.startswith("rpt_"):
            create_mart(conn, model)


def create_mart(conn: psycopg.Connection, model: str, *, not_null: bool = True) -> None:
    """The empty table of one model, from its contract (``not_null=False``: no constraints, for
    rows that fill only the columns a reader reads)."""
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(SCHEMA)))
    body = sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(
            sql.Identifier(name),
            sql.SQL(data_type),
            sql.SQL(" not null" if required and not_null else ""),
        )
        for name, data_type, required in mart_columns()[model]
    )
    table = sql.Identifier(SCHEMA, model)
    conn.execute(sql.SQL("create table {} ({})").format(table, body))


def insert(conn: psycopg.Connection, model: str, rows: Sequence[Row]) -> None:
    if not rows:
        return
    names = [name for name, _, _ in mart_columns()[model]]
    rows = [{n: r.get(n) for n in names} for r in rows]
    query = sql.SQL("insert into {}.{} ({}) values ({})").format(
        sql.Identifier(SCHEMA),
        sql.Identifier(model),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
    )
    with conn.cursor() as cur:
        cur.executemany(query, [[r[n] for n in names] for r in rows])


def read_mart(conn: psycopg.Connection, model: str) -> list[Row]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("select * from {}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(model))
        )
        return cur.fetchall()


def last_success_at(tenant_id: str) -> dt.datetime:
    """The tenant's last successful extraction (``initech``'s key was revoked 6 hours after)."""
    return REVOKED_AT - dt.timedelta(hours=6) if tenant_id == "initech" else SYNC_AT


def md5(*parts: object) -> str:
    return hashlib.md5("|".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def rate(num: int, den: int) -> Decimal | None:
    return None if den == 0 else round(Decimal(num) / Decimal(den), 6)


def pct(num: int | float, den: int | float | None) -> Decimal | None:
    return None if not den else round(Decimal(num) * 100 / Decimal(den), 2)


def days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    d = start
    while d <= end:
        yield d
        d += dt.timedelta(days=1)


def month_start(d: dt.date, back: int = 0) -> dt.date:
    y, m = d.year, d.month - back
    while m <= 0:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1)


def next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


TENANTS: dict[str, dict[str, Any]] = {
    "acme_prod": {
        "display_name": "Acme Retail",
        "region": "global",
        "account_type": "paid",
        "reputation": Decimal("98.5"),
        "plan": ("pro_300k", "Pro 300K", 300_000, Decimal("249.00"), 1000),
        "basis": "credits match a tier",
        "status": "connected",
        "senders": {"": 3_200, "acme-news": 1_700, "acme-receipts": 1_100},
        "admins": 3,
        "teammates": 9,
        "subusers": 4,
    },
    "globex_eu": {
        "display_name": "Globex Europe",
        "region": "eu",
        "account_type": "paid",
        "reputation": Decimal("91.2"),
        "plan": ("essentials_100k", "Essentials 100K", 100_000, Decimal("34.95"), 1),
        "basis": "credits match a tier",
        "status": "connected",
        "senders": {"": 3_750},
        "admins": 1,
        "teammates": 1,
        "subusers": 0,
    },
    "initech": {
        "display_name": "Initech",
        "region": "global",
        "account_type": "paid",
        "reputation": Decimal("87"),
        "plan": ("pro_100k", "Pro 100K", 100_000, Decimal("89.95"), 1000),
        "basis": "nearest tier above credits",
        "status": "needs_reconnect",
        "senders": {"": 2_900, "initech-alerts": 350},
        "admins": 1,
        "teammates": 2,
        "subusers": 2,
    },
    "xss_tenant": {
        "display_name": XSS_NAME,
        "region": "global",
        "account_type": "free",
        "reputation": Decimal("100"),
        "plan": ("free", "Free", 100, Decimal("0.00"), 1),
        "basis": "free account",
        "status": "degraded",
        "senders": {"": 0},
        "admins": 0,
        "teammates": 0,
        "subusers": 0,
    },
}
