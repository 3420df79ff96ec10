"""Task bodies of the ``sendgrid_extract_load`` DAG (kept out of the DAG file: fast parsing).

* :func:`prepare_staging` - create/migrate ``sendgrid_staging`` once per run.
* :func:`load_tenant` - one mapped task instance: check the connection (health + scopes),
  run every selected stream, return a summary without secrets.
* :func:`staging_summary` - per-stream row counts of a run, read back from ``stream_status``
  (the asset event's extra; works even when some tenants failed).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from sendgrid_elt import catalog

log = logging.getLogger(__name__)


def prepare_staging() -> str:
    """Create or migrate the staging schema (idempotent); return the warehouse description.

    The run's first task: a missing ``sendgrid_warehouse`` connection fails here, clearly.
    """
    from sendgrid_elt.staging_schema import ensure_schema_url
    from sendgrid_elt.warehouse import require_target

    target = require_target()
    ensure_schema_url(target.sqlalchemy_url())
    return target.describe()


def parse_start_date(value: Any) -> dt.date | None:
    """The ``start_date`` param (``YYYY-MM-DD``, empty = use state)."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def load_tenant(
    tenant_id: str,
    run_id: str,
    *,
    streams: list[str] | None = None,
    start_date: dt.date | None = None,
    context: Any = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Extract and load one tenant; return ``{"tenant_id", "streams": {name: outcome}}``.

    Raises:
        AirflowFailException: The credential no longer works (health recorded, alert sent).
        StreamsFailed: Some streams failed after the hook's retries (the task retries).
    """
    import psycopg
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    from sendgrid_elt import connection_health, sync_state
    from sendgrid_elt.extract import TenantExtractor
    from sendgrid_elt.warehouse import require_target

    selected = [s.name for s in catalog.select(streams)]
    target = require_target()  # once per task; the engine and connections below share it
    engine = _engine(target)
    hook = SendGridHook(sendgrid_conn_id=tenant_id)
    started = time.monotonic()
    try:
        # The tenant row first: a tenant whose credentials already fail still shows in the marts.
        with psycopg.connect(target.conninfo(), autocommit=True) as conn:
            sync_state.save_tenant(
                conn, tenant_id, display_name=hook.display_name,
                region=_region(hook), auth_type=hook.settings.auth_type,
                subusers_filter=_filter_text(hook.subusers_filter),
            )  # fmt: skip
        with connection_health.reconnect_guard(hook, engine=engine, context=context):
            today = hook.api_date()
            connection_health.check_connection(hook, selected, engine=engine, context=context)
            with psycopg.connect(target.conninfo(), autocommit=True) as conn:
                extractor = TenantExtractor(
                    hook, conn, tenant_id, run_id, start_date=start_date, today=today,
                    **({"batch_size": batch_size} if batch_size else {}),
                )  # fmt: skip
                outcomes = extractor.run(selected)
    finally:
        engine.dispose()
        hook.close()
    elapsed = time.monotonic() - started
    total = sum(o.records for o in outcomes.values())
    log.info(
        "tenant %s: %d streams, %d records, %d requests in %.1fs (%.0f records/s)",
        tenant_id, len(outcomes), total, hook.request_count, elapsed, total / max(elapsed, 1e-6),
    )  # fmt: skip
    return {"tenant_id": tenant_id, "streams": {n: o.as_dict() for n, o in outcomes.items()}}


def _engine(target):
    from sqlalchemy import create_engine

    return create_engine(target.sqlalchemy_url(), pool_pre_ping=True)


def _region(hook: Any) -> str:
    return "eu" if ".eu." in hook.settings.base_url else "global"


def _filter_text(value: Any) -> str:
    return value if isinstance(value, str) else ",".join(value)


def staging_summary(run_id: str, as_of: dt.datetime | None = None) -> dict[str, Any]:
    """Per-stream row counts and statuses of ``run_id`` (asset extra; no secrets).

    Args:
        run_id: The extract run.
        as_of: The run's as-of instant (its data interval end). When given and a tenant
            loaded something, it is recorded in ``extract_runs`` (what a dbt run without the
            ``sendgrid_as_of`` var falls back to) and returned as ``as_of`` (ISO-8601 UTC).

    Returns:
        ``{"run_id", "schema", "tenants", "rows", "records"}`` plus ``"as_of"`` when given.
    """
    import psycopg

    from sendgrid_elt.settings import STAGING_SCHEMA
    from sendgrid_elt.warehouse import require_target

    with psycopg.connect(require_target().conninfo(), autocommit=True) as conn:
        rows = conn.execute(
            "select tenant_id, stream, status, coalesce(records, 0) "  # noqa: S608
            f'from "{STAGING_SCHEMA}".stream_status where run_id = %s order by tenant_id, stream',
            (run_id,),
        ).fetchall()
        per_stream: dict[str, int] = {}
        tenants: dict[str, dict[str, Any]] = {}
        for tenant_id, stream, status, records in rows:
            per_stream[stream] = per_stream.get(stream, 0) + records
            entry = tenants.setdefault(tenant_id, {"records": 0, "not_ok": {}})
            entry["records"] += records
            if status != "ok":
                entry["not_ok"][stream] = status
        summary: dict[str, Any] = {
            "run_id": run_id,
            "schema": STAGING_SCHEMA,
            "tenants": tenants,
            "rows": per_stream,
            "records": sum(per_stream.values()),
        }
        if as_of is not None:
            instant = as_of.astimezone(dt.UTC)
            summary["as_of"] = instant.isoformat().replace("+00:00", "Z")
            if tenants:
                conn.execute(
                    f'insert into "{STAGING_SCHEMA}".extract_runs (run_id, as_of, '  # noqa: S608
                    "published_at, tenants, records) values (%s, %s, now(), %s, %s) "
                    "on conflict (run_id) do update set "
                    "as_of = excluded.as_of, published_at = excluded.published_at, "
                    "tenants = excluded.tenants, records = excluded.records",
                    (run_id, instant, len(tenants), summary["records"]),
                )
    return summary
