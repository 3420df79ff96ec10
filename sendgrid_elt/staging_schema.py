"""The ``sendgrid_staging`` schema as SQLAlchemy Core tables, and its idempotent migration.

One table per catalog stream (same columns for all, see ``docs/staging-contract.md``) plus the
bookkeeping tables ``sync_state``, ``stream_status``, ``tenants``, ``extract_runs``,
``extract_run_tenants`` (per run and tenant: outcome of its batch), ``rejects`` and
``snapshot_holds`` (deletions held by :mod:`sendgrid_elt.snapshot_guard`).
``connection_health`` is owned by :mod:`sendgrid_elt.connection_health`.

:func:`ensure_schema` creates what is missing (schema, tables, indexes, columns) and never drops
or rewrites anything; it runs under a transaction-level advisory lock so concurrent tenant tasks
can all call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from sendgrid_elt import catalog
from sendgrid_elt.settings import STAGING_SCHEMA

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_LOCK_KEY = 0x5E9D_57A6  # pg_advisory_xact_lock key for DDL

metadata = MetaData(schema=STAGING_SCHEMA)

KEY_COLUMNS = ("tenant_id", "subuser", "parent_key", "record_key")
#: The key index of non-snapshot tables leads with the most selective column, and the key
#: columns compare bytewise (collation "C": ``memcmp`` instead of the locale's ``strcoll``):
#: each inserted row costs one short comparison per index level. Equality, and so every join
#: and filter, is the same in any deterministic collation.
FAST_KEY_ORDER = ("record_key", "subuser", "parent_key", "tenant_id")


def _stream_columns(key_type: Text) -> list[Column]:
    ts = DateTime(timezone=True)
    return [
        Column("tenant_id", key_type, nullable=False),
        Column("subuser", key_type, nullable=False, server_default=text("''")),
        Column("parent_key", key_type, nullable=False, server_default=text("''")),
        Column("record_key", key_type, nullable=False),
        Column("record_hash", Text, nullable=False),
        Column("record", JSONB, nullable=False),
        Column("first_seen_at", ts, nullable=False),
        Column("last_seen_at", ts, nullable=False),
        Column("extracted_at", ts, nullable=False),
        Column("run_id", Text, nullable=False),
        Column("is_current", Boolean, nullable=False, server_default=text("true")),
        Column("deleted_at", ts, nullable=True),
    ]


def _stream_table(spec: catalog.StreamSpec) -> Table:
    name = spec.name
    if spec.versioned:
        return Table(
            name,
            metadata,
            *_stream_columns(Text()),
            UniqueConstraint(*KEY_COLUMNS, "record_hash", name=f"{name}_version_key"),
            Index(
                f"{name}_current_key",
                *KEY_COLUMNS,
                unique=True,
                postgresql_where=text("is_current"),
            ),
            comment=f"SendGrid {spec.path} (snapshot: one row per version)",
        )
    return Table(
        name,
        metadata,
        *_stream_columns(Text(collation="C")),
        PrimaryKeyConstraint(*FAST_KEY_ORDER, name=f"{name}_pkey"),
        comment=f"SendGrid {spec.path} ({spec.mode})",
    )


STREAM_TABLES: dict[str, Table] = {spec.name: _stream_table(spec) for spec in catalog.STREAMS}

_TS = DateTime(timezone=True)


def _unit_columns() -> list[Column]:
    """A stream's unit (tenant, stream, subuser ``''`` for the parent): a bookkeeping key."""
    return [
        Column("tenant_id", Text, nullable=False),
        Column("stream", Text, nullable=False),
        Column("subuser", Text, nullable=False, server_default=text("''")),
    ]


sync_state = Table(
    "sync_state",
    metadata,
    *_unit_columns(),
    Column("cursor", JSONB, nullable=True),
    Column("last_success_at", _TS, nullable=True),
    Column("last_run_id", Text, nullable=True),
    Column("rows_last_run", BigInteger, nullable=True),
    Column("updated_at", _TS, nullable=True),
    PrimaryKeyConstraint("tenant_id", "stream", "subuser", name="sync_state_pkey"),
    comment="per tenant, stream and subuser: cursor/checkpoint, committed with the data",
)

stream_status = Table(
    "stream_status",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("stream", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("detail", Text, nullable=True),
    Column("checked_at", _TS, nullable=False),
    Column("run_id", Text, nullable=True),
    Column("records", BigInteger, nullable=True),
    Column("requests", BigInteger, nullable=True),
    Column("seconds", Float, nullable=True),
    Column("rejected", BigInteger, nullable=True),
    Column("repaired", BigInteger, nullable=True),
    #: The last run in which the whole stream (every unit) was read: ``run_id`` when ``ok``,
    #: kept through later failures (what a failed stream's figures still cover).
    Column(
        "last_ok_run_id",
        Text,
        nullable=True,
        info={"backfill": "case when status = 'ok' then run_id end"},
    ),
    PrimaryKeyConstraint("tenant_id", "stream", name="stream_status_pkey"),
    comment="ok | missing_scope | not_licensed | error, per tenant and stream (latest run)",
)

snapshot_holds = Table(
    "snapshot_holds",
    metadata,
    *_unit_columns(),
    Column("held_keys", BigInteger, nullable=False),
    Column("current_keys", BigInteger, nullable=False),
    Column("run_id", Text, nullable=False),
    Column("held_at", _TS, nullable=False),
    PrimaryKeyConstraint("tenant_id", "stream", "subuser", name="snapshot_holds_pkey"),
    comment="per tenant, stream and unit: a snapshot's mass deletion held until the next "
    "complete read agrees (sendgrid_elt/snapshot_guard.py), written with the snapshot's end",
)

rejects = Table(
    "rejects",
    metadata,
    *_unit_columns(),
    Column("parent_key", Text, nullable=False, server_default=text("''")),
    Column("record_key", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("raw_size", BigInteger, nullable=False),
    Column("raw_hash", Text, nullable=False),
    Column("run_id", Text, nullable=False),
    Column("first_run_id", Text, nullable=False),
    Column("created_at", _TS, nullable=False),
    Column("last_seen_at", _TS, nullable=False),
    Column("times_seen", BigInteger, nullable=False, server_default=text("1")),
    PrimaryKeyConstraint(
        "tenant_id", "stream", "subuser", "parent_key", "raw_hash", name="rejects_pkey"
    ),
    comment="records that could not be loaded (see sendgrid_elt/rejects.py), one per raw text",
)

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("display_name", Text, nullable=True),
    Column("region", Text, nullable=True),
    Column("auth_type", Text, nullable=True),
    Column("subusers_filter", Text, nullable=True),
    Column("first_seen_at", _TS, nullable=False),
    Column("last_seen_at", _TS, nullable=False),
    # the as-of of the first full discovery that no longer found the connection (null: found)
    Column("removed_at", _TS, nullable=True),
    PrimaryKeyConstraint("tenant_id", name="tenants_pkey"),
    comment="every SendGrid connection the pipeline has seen; removed_at: deleted since",
)

extract_runs = Table(
    "extract_runs",
    metadata,
    Column("run_id", Text, nullable=False),
    Column("as_of", _TS, nullable=False),
    Column("published_at", _TS, nullable=False),
    Column("tenants", BigInteger, nullable=True),
    Column("records", BigInteger, nullable=True),
    PrimaryKeyConstraint("run_id", name="extract_runs_pkey"),
    comment="per published extract run: its as-of instant (data interval end), read by dbt",
)

extract_run_tenants = Table(
    "extract_run_tenants",
    metadata,
    Column("run_id", Text, nullable=False),
    Column("tenant_id", Text, nullable=False),
    Column("batch", BigInteger, nullable=True),
    Column("status", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("records", BigInteger, nullable=True),
    Column("requests", BigInteger, nullable=True),
    Column("seconds", Float, nullable=True),
    Column("started_at", _TS, nullable=True),
    Column("ended_at", _TS, nullable=True),
    PrimaryKeyConstraint("run_id", "tenant_id", name="extract_run_tenants_pkey"),
    comment="per extract run and tenant: ok | failed | skipped | running (its batch task "
    "never finished it), written by its batch task",
)


def ensure_schema(conn: Connection) -> None:
    """Create the schema, missing tables, indexes and columns (idempotent, additive only).

    Runs inside the caller's transaction, serialized by an advisory lock.
    """
    conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    conn.execute(text(f'create schema if not exists "{STAGING_SCHEMA}"'))
    existing = _existing_columns(conn)
    metadata.create_all(conn, checkfirst=True)
    for table in metadata.sorted_tables:
        have = existing.get(table.name)
        if have is None:  # created just now, complete
            continue
        for column in table.columns:
            if column.name not in have:
                _add_column(conn, table, column)
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _existing_columns(conn: Connection) -> dict[str, set[str]]:
    rows = conn.execute(
        text(
            "select table_name, column_name from information_schema.columns where table_schema = :s"
        ),
        {"s": STAGING_SCHEMA},
    )
    out: dict[str, set[str]] = {}
    for table_name, column_name in rows:
        out.setdefault(table_name, set()).add(column_name)
    return out


def _add_column(conn: Connection, table: Table, column: Column) -> None:
    col_type = column.type.compile(dialect=conn.dialect)
    default = f" default {column.server_default.arg.text}" if column.server_default else ""
    not_null = " not null" if not column.nullable and default else ""
    conn.execute(
        text(
            f'alter table "{STAGING_SCHEMA}"."{table.name}" add column if not exists '
            f'"{column.name}" {col_type}{default}{not_null}'
        )
    )
    if backfill := column.info.get("backfill"):  # what the existing rows already say
        conn.execute(
            text(f'update "{STAGING_SCHEMA}"."{table.name}" set "{column.name}" = {backfill}')  # noqa: S608
        )


def ensure_schema_url(sqlalchemy_url: str) -> None:
    """Migrate the warehouse at ``sqlalchemy_url``: :func:`ensure_schema` and the health table.

    The one migration both DAGs run first (the extract's ``prepare_staging``, the transform's
    ``dbt_build``), so either may run first after an upgrade.
    """
    from sqlalchemy import create_engine

    from sendgrid_elt.health_store import ensure_table

    engine = create_engine(sqlalchemy_url)
    try:
        with engine.begin() as conn:
            ensure_schema(conn)
        ensure_table(engine)
    finally:
        engine.dispose()
