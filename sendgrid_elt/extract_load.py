"""Task bodies of the ``sendgrid_extract_load`` DAG (kept out of the DAG file: fast parsing).

* :func:`prepare_staging` - create/migrate ``sendgrid_staging`` once per run.
* :func:`load_tenant` - one tenant of a batch (:mod:`sendgrid_elt.batches`): take the tenant's
  lock (one run per tenant at a time, :mod:`sendgrid_elt.tenant_lock`), start the tenant's time
  budget, check the connection (health + scopes), run every selected stream, return a summary
  without secrets.

What the run publishes (the asset event's extra, its as-of) is :mod:`sendgrid_elt.publish`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from sendgrid_elt import catalog, settings
from sendgrid_elt.statement_deadline import StatementDeadline, set_lock_timeout
from sendgrid_elt.stream_outcome import StreamsFailed
from sendgrid_elt.time_budget import budget_end, budget_ended, task_timeout, time_budget_for

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


def record_roster(tenant_ids: list[str], as_of: dt.datetime | None) -> None:
    """Record the run's full tenant list: known tenants it lacks are marked removed.

    A run that found no tenant at all changes nothing: a discovery that lost its
    configuration must not empty the reports. Nothing is deleted (see
    :func:`sendgrid_elt.sync_state.save_roster`); the marts leave removed tenants out.
    """
    import psycopg

    from sendgrid_elt import sync_state
    from sendgrid_elt.warehouse import require_target

    if not tenant_ids:
        log.warning("no tenant found: the registry of known tenants is left as it is")
        return
    instant = (as_of or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    with psycopg.connect(require_target().conninfo()) as conn:
        # the listing is today's even in an old run cleared later: never date it back
        latest = sync_state.published_as_of(conn)
        instant = max(instant, latest) if latest is not None else instant
        removed, restored = sync_state.save_roster(conn, tenant_ids, instant)
    if removed:
        log.info(
            "no longer connected, left out of the reports from %s on (data kept): %s",
            instant.isoformat(),
            ", ".join(removed),
        )
    if restored:
        log.info("connected again: %s", ", ".join(restored))


def known_tenants() -> list[str]:
    """The tenants earlier runs found and did not mark removed (the warehouse's registry)."""
    import psycopg

    from sendgrid_elt import sync_state
    from sendgrid_elt.warehouse import require_target

    with psycopg.connect(require_target().conninfo()) as conn:
        return sync_state.active_tenants(conn)


def load_tenant(
    tenant_id: str,
    run_id: str,
    *,
    streams: list[str] | None = None,
    start_date: dt.date | None = None,
    context: Any = None,
    batch_size: int | None = None,
    time_budget: float | None = None,
    lock_wait: float | None = None,
    alert_settings: Any = None,
    warehouse: TenantWarehouse | None = None,
) -> dict[str, Any]:
    """Extract and load one tenant; return ``{"tenant_id", "requests", "streams"}``.

    Thread-safe: a batch runs several tenants at once, each with its own hook (and so its own
    rate limiter), warehouse connection and engine.

    Args:
        tenant_id: The tenant's ``sendgrid`` connection id.
        run_id: The Airflow run (written on every row).
        streams: Only these streams (default: all).
        start_date: Backfill from this day.
        context: The task context (alerts; its task's ``execution_timeout`` sets the budget).
        batch_size: Rows per load transaction.
        time_budget: Seconds this tenant may use (default: :func:`time_budget_for` the task's
            ``execution_timeout``); the connection's ``time_budget`` extra may lower it.
        lock_wait: Seconds to wait for another run of this tenant before skipping it (default:
            ``settings.TENANT_LOCK_WAIT_SECONDS``).
        alert_settings: :class:`~sendgrid_elt.connection_health.AlertSettings` (default: read
            from the alert Variables; a batch reads them once for all its tenants).
        warehouse: The warehouse connection and engine to use (a batch thread keeps one for
            its tenants); default: opened here and closed at the end.

    Any other failure of the tenant's run (its connection's settings, the API's clock or scope
    check after the retries, the warehouse) is recorded before it is raised: health
    ``degraded`` naming the error, one alert for it (:func:`record_failure`).

    Raises:
        AirflowFailException: The credential no longer works, or the connection's settings are
            invalid (health recorded, alert sent; a retry would read the same connection).
        AirflowSkipException: Another run is extracting this tenant (waited ``lock_wait``).
        TimeBudgetEnded: The time budget ended while the streams ran (their progress saved):
            the batch records the tenant ``partial``; the next run resumes it (a backfill's
            retry does, see :mod:`sendgrid_elt.batches`).
        StreamsFailed: Some streams failed after the hook's retries (the task retries; the next
            attempt resumes from the saved state).
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
    from sendgrid_hook.errors import (
        SendGridBudgetExceededError,
        SendGridConfigError,
        SendGridTimeBudgetExceededError,
    )
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    from sendgrid_elt.stream_outcome import failure
    from sendgrid_elt.tenant_lock import TenantBusy, not_locked, tenant_lock

    selected = [s.name for s in catalog.select(streams)]
    own = warehouse is None
    warehouse = warehouse or TenantWarehouse()
    hook = SendGridHook(sendgrid_conn_id=tenant_id)
    started = time.monotonic()
    if time_budget is None:
        time_budget = time_budget_for(task_timeout(context or {}))
    deadline: StatementDeadline | None = None
    try:
        budget = hook.set_time_budget(time_budget)
        conn, engine = warehouse.connection(), warehouse.engine()
        wait = settings.TENANT_LOCK_WAIT_SECONDS if lock_wait is None else lock_wait
        wait = wait if budget is None else min(wait, budget / 2)
        with (
            tenant_lock(conn, tenant_id, run_id, wait=wait) as locked,
            StatementDeadline(conn, hook.time_left(), tenant_id) as deadline,
        ):
            if not locked:
                not_locked(conn, tenant_id, run_id, wait)
            outcomes = _extract(
                hook, conn, engine, tenant_id, run_id, selected,
                start_date=start_date, context=context, batch_size=batch_size,
                alert_settings=alert_settings,
            )  # fmt: skip
    except StreamsFailed as exc:
        if not budget_ended(hook, exc.outcomes, deadline):
            raise  # a stream's own failure (a 503 storm, the network): the task retries
        ended = budget_end(tenant_id, budget, time.monotonic() - started, exc,
                            backfill=start_date is not None)  # fmt: skip
        log.warning("%s", ended)
        raise ended from exc
    except (AirflowSkipException, AirflowFailException, TenantBusy):
        raise  # another run holds the tenant, or the credential failed (the guard recorded it)
    except (SendGridBudgetExceededError, SendGridTimeBudgetExceededError):
        raise  # the run's own limits, not the tenant's health (the retry resumes)
    except Exception as exc:  # the tenant stopped outside its streams: say so, then raise
        record_failure(hook, exc, warehouse, context=context, settings=alert_settings)
        if isinstance(exc, SendGridConfigError):
            raise AirflowFailException(
                f"SendGrid tenant {tenant_id!r}: {failure(exc, 500)}; not retried: the "
                "connection's settings must be fixed first"
            ) from exc
        raise
    finally:
        if deadline is not None and deadline.fired:
            conn.close()  # a late cancel must not reach the thread's next tenant; the lock ends
        if own:
            warehouse.close()
        hook.close()
    elapsed = time.monotonic() - started
    total = sum(o.records for o in outcomes.values())
    log.info(
        "tenant %s: %d streams, %d records, %d requests in %.1fs (%.0f records/s)",
        tenant_id, len(outcomes), total, hook.request_count, elapsed, total / max(elapsed, 1e-6),
    )  # fmt: skip
    return {
        "tenant_id": tenant_id,
        "requests": hook.request_count,
        "streams": {n: o.as_dict() for n, o in outcomes.items()},
    }


def _extract(
    hook: Any,
    conn: Any,
    engine: Any,
    tenant_id: str,
    run_id: str,
    selected: list[str],
    *,
    start_date: dt.date | None,
    context: Any,
    batch_size: int | None,
    alert_settings: Any = None,
) -> dict[str, Any]:
    from sendgrid_elt import connection_health, sync_state
    from sendgrid_elt.extract import TenantExtractor

    # The tenant row first: a tenant whose credentials already fail still shows in the marts.
    sync_state.save_tenant(
        conn, tenant_id, display_name=hook.display_name,
        region=_region(hook), auth_type=hook.settings.auth_type,
        subusers_filter=_filter_text(hook.subusers_filter),
    )  # fmt: skip
    alerts = {"engine": engine, "context": context, "settings": alert_settings}
    with connection_health.reconnect_guard(hook, **alerts):
        today = hook.api_date()  # a failure before the streams is recorded by load_tenant
        connection_health.check_connection(hook, selected, **alerts)
        extractor = TenantExtractor(
            hook, conn, tenant_id, run_id, start_date=start_date, today=today,
            **({"batch_size": batch_size} if batch_size else {}),
        )  # fmt: skip
        return run_streams(extractor, selected, hook, **alerts)


def record_failure(
    hook: Any, exc: BaseException, warehouse: TenantWarehouse, *, context: Any, settings: Any
) -> None:
    """Record a tenant run that stopped outside its streams: ``degraded``, one alert.

    Never raises: when the warehouse itself is what failed, the failure is only logged (the
    caller raises the original error, and the task's retry records it if it can).
    """
    from sendgrid_elt import connection_health
    from sendgrid_elt.stream_outcome import failure

    try:
        connection_health.record_run_failure(
            hook, exc, engine=warehouse.engine(), context=context, settings=settings
        )
    except Exception as again:
        log.error("tenant %s: its failed run could not be recorded (%s): %s", hook.tenant_id,
                  failure(again), failure(exc))  # fmt: skip


def run_streams(
    extractor: Any,
    selected: list[str],
    hook: Any,
    *,
    engine: Any,
    context: Any = None,
    settings: Any = None,
) -> dict[str, Any]:
    """Run the streams, then record the tenant's health from their outcomes (also on failure).

    Streams that failed or rejected records make the tenant ``degraded`` (one alert per new set
    of problems, see :func:`sendgrid_elt.connection_health.record_streams`).

    Raises:
        StreamsFailed: Some streams failed (after the health was recorded).
    """
    from sendgrid_elt import connection_health
    from sendgrid_elt.stream_outcome import StreamsFailed

    try:
        outcomes = extractor.run(selected)
    except StreamsFailed as exc:
        connection_health.record_streams(
            hook, exc.outcomes, engine=engine, context=context, settings=settings
        )
        raise
    connection_health.record_streams(
        hook, outcomes, engine=engine, context=context, settings=settings
    )
    return outcomes


class TenantWarehouse:
    """A warehouse connection (autocommit) and engine, reused for the tenants of one thread.

    Their lock waits are bounded (:func:`~sendgrid_elt.statement_deadline.set_lock_timeout`).

    Opening them costs PostgreSQL a backend per connection and the loader a temp table; a batch
    thread extracting thirty tenants one after the other opens them once. A connection a tenant
    left broken, closed or inside a transaction is replaced when the next one asks for it.
    """

    def __init__(self) -> None:
        from sendgrid_elt.warehouse import require_target

        self.target = require_target()
        self._conn: Any = None
        self._engine: Any = None

    def connection(self) -> Any:
        """The psycopg connection (autocommit), opened or replaced when needed."""
        import psycopg
        from psycopg.pq import TransactionStatus

        conn = self._conn
        if conn is None or conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
            if conn is not None:
                conn.close()
            self._conn = psycopg.connect(self.target.conninfo(), autocommit=True)
            set_lock_timeout(self._conn)
        return self._conn

    def engine(self) -> Any:
        """The SQLAlchemy engine (one pooled connection, checked before use)."""
        if self._engine is None:
            from sqlalchemy import create_engine, event

            self._engine = create_engine(
                self.target.sqlalchemy_url(), pool_pre_ping=True, pool_size=1
            )
            event.listen(self._engine, "connect", lambda dbapi, _record: set_lock_timeout(dbapi))
        return self._engine

    def close(self) -> None:
        """Close the connection and dispose of the engine."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _region(hook: Any) -> str:
    return "eu" if ".eu." in hook.settings.base_url else "global"


def _filter_text(value: Any) -> str:
    return value if isinstance(value, str) else ",".join(value)
