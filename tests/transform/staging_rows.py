"""The staging writer of the dbt tests: ``sendgrid_staging`` tables and rows as the loader writes.

The tables come from the loader's own DDL (``sendgrid_elt.staging_schema``,
``sendgrid_elt.connection_health``); :class:`Staging` keys and hashes records the way
``sendgrid_elt.extract.shape`` and the loader do. The scenario is in :mod:`.staging_data`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

UTC = dt.UTC
#: Scopes of a Full Access key as GET /v3/api_keys/{id} lists them (abridged).
FULL_KEY_SCOPES = ["api_keys.create", "api_keys.read", "mail.send", "stats.read",
                   "user.account.read", "2fa_required"]  # fmt: skip
METRICS = (
    "blocks", "bounce_drops", "bounces", "clicks", "deferred", "delivered", "invalid_emails",
    "opens", "processed", "requests", "spam_report_drops", "spam_reports", "unique_clicks",
    "unique_opens", "unsubscribe_drops", "unsubscribes",
)  # fmt: skip


def create_staging(target: Any) -> None:
    """Create ``sendgrid_staging`` with the loader's DDL (tables, keys, bookkeeping)."""
    from sqlalchemy import create_engine

    from sendgrid_elt import connection_health, staging_schema

    engine = create_engine(target.sqlalchemy_url())
    try:
        with engine.begin() as conn:
            staging_schema.ensure_schema(conn)
        connection_health.ensure_table(engine)
    finally:
        engine.dispose()


def epoch(ts: dt.datetime) -> int:
    return int(ts.timestamp())


def metrics(requests: int, seed: int) -> dict[str, int]:
    """A consistent SendGrid metrics object for ``requests`` emails."""
    if requests == 0:
        return dict.fromkeys(METRICS, 0)
    drops = requests // 200
    processed = requests - drops
    bounces = processed // 100 + seed % 3
    blocks = processed // 250
    delivered = processed - bounces - blocks
    unique_opens = delivered // 4
    unique_clicks = delivered // 40
    return {
        "blocks": blocks, "bounce_drops": drops // 2, "bounces": bounces,
        "clicks": unique_clicks + unique_clicks // 3, "deferred": processed // 50,
        "delivered": delivered, "invalid_emails": requests // 1000,
        "opens": unique_opens + unique_opens // 2, "processed": processed,
        "requests": requests, "spam_report_drops": drops // 4,
        "spam_reports": delivered // 5000, "unique_clicks": unique_clicks,
        "unique_opens": unique_opens, "unsubscribe_drops": drops - drops // 2 - drops // 4,
        "unsubscribes": delivered // 800,
    }  # fmt: skip


@dataclass
class Row:
    stream: str
    tenant_id: str
    record: dict
    record_key: str
    subuser: str = ""
    parent_key: str = ""
    first_seen_at: dt.datetime | None = None
    last_seen_at: dt.datetime | None = None
    extracted_at: dt.datetime | None = None
    is_current: bool = True
    deleted_at: dt.datetime | None = None


@dataclass
class Staging:
    """Rows to write, plus bookkeeping; ``now`` is the extraction time of the scenario."""

    now: dt.datetime
    rows: list[Row] = field(default_factory=list)
    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    tenants: list[tuple[str, str]] = field(default_factory=list)
    health: list[dict] = field(default_factory=list)
    #: (tenant, stream, last success): the loader's sync state of completed streams
    syncs: list[tuple[str, str, dt.datetime | None]] = field(default_factory=list)

    def add(self, stream: str, tenant: str, record: dict, key: str = "", **kw: Any) -> None:
        self.rows.append(Row(stream, tenant, record, key, **kw))

    def write(self, target: Any, run_id: str = "scheduled__test") -> None:
        with psycopg.connect(target.conninfo(), autocommit=False) as conn:
            for r in self.rows:
                canonical = json.dumps(r.record, sort_keys=True, separators=(",", ":"))
                first = r.first_seen_at or self.now
                digest = hashlib.md5(canonical.encode(), usedforsecurity=False).hexdigest()
                conn.execute(
                    sql.SQL(
                        "insert into sendgrid_staging.{} (tenant_id, subuser, parent_key,"
                        " record_key, record_hash, record, first_seen_at, last_seen_at,"
                        " extracted_at, run_id, is_current, deleted_at)"
                        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    ).format(sql.Identifier(r.stream)),
                    [
                        r.tenant_id, r.subuser, r.parent_key, r.record_key,
                        digest, Jsonb(r.record), first,
                        r.last_seen_at or r.extracted_at or self.now,
                        r.extracted_at or self.now, run_id, r.is_current, r.deleted_at,
                    ],
                )  # fmt: skip
            for tenant, stream, status in self.statuses:
                conn.execute(
                    "insert into sendgrid_staging.stream_status (tenant_id, stream, status,"
                    " detail, checked_at, run_id) values (%s, %s, %s, %s, %s, %s)"
                    " on conflict (tenant_id, stream) do update set status = excluded.status",
                    [tenant, stream, status, None if status == "ok" else "403", self.now, run_id],
                )
            for tenant, stream, success in self.syncs:
                conn.execute(
                    "insert into sendgrid_staging.sync_state (tenant_id, stream, subuser,"
                    " last_success_at, last_run_id, updated_at) values (%s, %s, '', %s, %s, %s)",
                    [tenant, stream, success, run_id, self.now],
                )
            for tenant, name in self.tenants:
                conn.execute(
                    "insert into sendgrid_staging.tenants (tenant_id, display_name, region,"
                    " auth_type, first_seen_at, last_seen_at) values (%s, %s, 'global',"
                    " 'api_key', %s, %s) on conflict do nothing",
                    [tenant, name, self.now - dt.timedelta(days=20), self.now],
                )
            for h in self.health:
                conn.execute(
                    "insert into sendgrid_staging.connection_health (tenant_id, display_name,"
                    " status, status_since, last_error, last_success_at, last_checked_at,"
                    " missing_scopes) values (%(tenant_id)s, %(display_name)s, %(status)s,"
                    " %(status_since)s, %(last_error)s, %(last_success_at)s, %(now)s,"
                    " %(missing)s)",
                    {**h, "now": self.now, "missing": Jsonb(h.get("missing_scopes", []))},
                )
            conn.commit()
