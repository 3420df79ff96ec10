"""Tenants in batches: a few extract task instances per run, tenants concurrent inside each.

One task instance per tenant costs scheduler, metadata-DB and worker start-up time that
dominates small tenants, and Airflow caps a mapped task at ``max_map_length``. So a run maps at
most :data:`~sendgrid_elt.settings.EXTRACT_MAX_BATCHES` ``extract_load`` task instances
(:func:`split`), and each extracts its tenants on
:data:`~sendgrid_elt.settings.EXTRACT_TENANT_THREADS` threads (:func:`run_batch`), every tenant
through :func:`sendgrid_elt.extract_load.load_tenant` (its lock, time budget, health and its
own hook, so its own rate limiter).

Each tenant's outcome is one row of ``extract_run_tenants`` (run, tenant, batch, ``ok`` |
``partial`` | ``failed`` | ``skipped``, the secret-scrubbed error, records, requests, seconds)
and one line of the batch log (WARNING unless ``ok``). The batch claims its tenants' rows as
``running`` before it starts them, so a tenant its task never finished (killed, timed out, lost
with its worker) reads as not done, and the run's published summary counts it failed. A failing
tenant never stops the others; the batch fails at the end when one of its tenants failed, so the
run shows it, and a retry or clear of the batch extracts only the tenants not done in the run.

``partial``: the tenant's time budget ended while its streams ran
(:class:`~sendgrid_elt.time_budget.TimeBudgetEnded`; its progress saved). That is no failure a
retry fixes: the retry would run out of time again, each try up to the task's timeout, while the
run's publish, and so every tenant's marts, wait for it. So it does not fail the batch, a retry
of the batch for another tenant leaves it alone, and the next run resumes it from its saved
state; the batch log, its row, the published summary (its streams in ``error``) and its health
say it did not finish. Except in a backfill run (``start_date``): a later run would not read the
units the backfill had not reached from that day, while a retry of the same run resumes each
unit from what the earlier tries saved; so there a ``partial`` tenant fails the batch, and its
retries carry the backfill on until it completes (or the tries are used up: the run fails).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sendgrid_hook.display import plural

from sendgrid_elt import settings

log = logging.getLogger(__name__)

OK, PARTIAL, FAILED, SKIPPED, RUNNING = "ok", "partial", "failed", "skipped", "running"
#: A tenant started with at least this share of the batch's time budget had the full budget.
FULL_BUDGET_SHARE = 0.9
#: The error of a ``running`` row: what it means when the run is over.
UNFINISHED = "not finished: its batch task ended first (killed, timed out or lost with its worker)"


def _table() -> str:
    """The summary table's qualified name, from its one definition in ``staging_schema``."""
    from sendgrid_elt.staging_schema import extract_run_tenants

    return f'"{settings.STAGING_SCHEMA}"."{extract_run_tenants.name}"'


class BatchFailed(Exception):
    """Some tenants of a batch failed (the others were loaded; their rows say which).

    Attributes:
        failed: Tenant id -> scrubbed error (also a backfill's ``partial`` tenants).
    """

    def __init__(self, message: str, failed: dict[str, str]) -> None:
        super().__init__(message)
        self.failed = failed


def split(tenant_ids: Sequence[str], max_batches: int | None = None) -> list[list[str]]:
    """Split the tenants into at most ``max_batches`` batches whose sizes differ by at most one.

    Args:
        tenant_ids: The run's tenants (order kept: a batch holds neighbours).
        max_batches: Most batches (default :data:`~sendgrid_elt.settings.EXTRACT_MAX_BATCHES`).

    Returns:
        Non-empty batches; none when there are no tenants. Never more than Airflow's
        ``[core] max_map_length``: the mapped task would refuse them.
    """
    limit = settings.EXTRACT_MAX_BATCHES if max_batches is None else max_batches
    if limit < 1:
        raise ValueError(f"max_batches must be at least 1, got {limit}")
    limit = min(limit, _max_map_length())
    ids = list(tenant_ids)
    count = min(limit, len(ids))
    if count == 0:
        return []
    size, extra = divmod(len(ids), count)
    out, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        out.append(ids[start:end])
        start = end
    return out


def _max_map_length() -> int:
    from airflow.configuration import conf

    return conf.getint("core", "max_map_length", fallback=1024)


def label(batch: Sequence[str]) -> str:
    """What the UI shows for a batch's task instance: ``"acme +7"`` (first tenant + the rest)."""
    if not batch:
        return "(empty)"
    return batch[0] if len(batch) == 1 else f"{batch[0]} +{len(batch) - 1}"


def run_batch(
    batch: Sequence[str],
    run_id: str,
    *,
    batch_index: int = 0,
    streams: list[str] | None = None,
    start_date: dt.date | None = None,
    context: Any = None,
    threads: int | None = None,
    time_budget: float | None = None,
    loader: Any = None,
) -> dict[str, Any]:
    """Extract the tenants of ``batch`` not done in ``run_id``, concurrently.

    Done: an ``ok`` row for the run, or a ``partial`` one unless the run backfills.

    Args:
        batch: Tenant ids.
        run_id: The Airflow run (key of the summary rows).
        batch_index: The batch's map index (written on its rows).
        streams: Only these streams.
        start_date: Backfill from this day.
        context: The task context (passed to each tenant).
        threads: Tenants at once (default
            :data:`~sendgrid_elt.settings.EXTRACT_TENANT_THREADS`).
        time_budget: Seconds the whole batch may use (default: from the task's
            ``execution_timeout``); a tenant gets what is left when it starts.
        loader: ``load_tenant``-compatible callable (default
            :func:`sendgrid_elt.extract_load.load_tenant`).

    Returns:
        ``{"batch", "tenants": {tenant_id: status}, "records", "requests"}``.

    Raises:
        BatchFailed: After every tenant ran and its row was written, when any failed (or, in a
            backfill, ran out of its time budget).
        AirflowFailException: Instead, when every failed tenant's credential no longer works
            (a retry cannot help; the health rows and alerts say what to do).
    """
    import psycopg

    from sendgrid_elt import extract_load
    from sendgrid_elt.connection_health import AlertSettings
    from sendgrid_elt.time_budget import task_timeout, time_budget_for
    from sendgrid_elt.warehouse import require_target

    load = loader or extract_load.load_tenant
    alerts = AlertSettings.from_airflow()  # the alert Variables, read once for every tenant
    if time_budget is None:
        time_budget = time_budget_for(task_timeout(context or {}))
    deadline = None if time_budget is None else time.monotonic() + time_budget
    with psycopg.connect(require_target().conninfo(), autocommit=True) as conn:
        done = _done(conn, run_id, batch, backfill=start_date is not None)
        _claim(conn, run_id, batch_index, [t for t in batch if t not in done])
    for tenant_id, status in sorted(done.items()):
        if status == OK:
            log.info("tenant %s: ok (already loaded in run %s, not extracted again)",
                     tenant_id, run_id)  # fmt: skip
        else:
            log.warning("tenant %s: partial (its time budget ended in an earlier try of run "
                        "%s; not extracted again, the next run resumes it)",
                        tenant_id, run_id)  # fmt: skip
    todo = [t for t in batch if t not in done]
    workers = max(1, min(threads or settings.EXTRACT_TENANT_THREADS, len(todo) or 1))

    local, opened = threading.local(), []

    def warehouse() -> Any:
        """This thread's warehouse session, for all its tenants.

        Opened on first use, inside the tenant's guard: failing to open it fails that tenant,
        not the batch.
        """
        if not hasattr(local, "warehouse"):
            local.warehouse = extract_load.TenantWarehouse()
            opened.append(local.warehouse)
        return local.warehouse

    def one(tenant_id: str) -> dict[str, Any]:
        left = None if deadline is None else deadline - time.monotonic()
        # a tenant started after its neighbours used part of the batch's time did not have a
        # full budget: if it runs out, the batch's retry (a fresh budget) runs it again
        full = left is None or time_budget is None or left >= FULL_BUDGET_SHARE * time_budget
        return _run_tenant(
            load, tenant_id, run_id, batch_index, warehouse,
            streams=streams, start_date=start_date, context=context, time_budget=left,
            alert_settings=alerts, full_budget=full,
        )  # fmt: skip

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tenant")
    try:
        results = list(pool.map(one, todo))
    except BaseException:
        # the task's execution_timeout (raised in this thread) or a kill: end now, without
        # waiting for a tenant still running (nor closing the sessions it may be using); the
        # tenants not started never start, and their rows stay ``running`` (not finished)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    for warehouse in opened:
        warehouse.close()
    statuses = done | {r["tenant_id"]: r["status"] for r in results}
    failed = {r["tenant_id"]: r["error"] for r in results if r["status"] == FAILED}
    partial = sorted(t for t, s in statuses.items() if s == PARTIAL)
    summary = {
        "batch": batch_index,
        "tenants": statuses,
        "records": sum(r["records"] for r in results),
        "requests": sum(r["requests"] for r in results),
    }
    counts = {
        s: sum(1 for v in statuses.values() if v == s) for s in (OK, PARTIAL, FAILED, SKIPPED)
    }
    log.info(
        "batch %d: %d %s: %d ok, %d partial, %d failed, %d skipped; %d records, %d requests",
        batch_index, len(batch), plural("tenant", len(batch)), counts[OK], counts[PARTIAL],
        counts[FAILED], counts[SKIPPED], summary["records"], summary["requests"],
    )  # fmt: skip
    # a backfill's partial tenants: only a retry of its run resumes the units not reached yet
    # (a backfill never counts an earlier try's partial as done: each ran in this try)
    reasons = {r["tenant_id"]: r["error"] for r in results}
    behind = {t: reasons.get(t) for t in partial} if start_date is not None else {}
    if partial and not behind:
        log.warning(
            "batch %d: not finished within the time budget, resumed by the next run (not "
            "retried now): %s", batch_index, ", ".join(partial),
        )  # fmt: skip
    if failed or behind:
        n = f"{len(batch)} {plural('tenant', len(batch))}"
        what = [f"{len(failed)} of {n} failed: {', '.join(sorted(failed))}"] if failed else []
        if behind:
            what.append(f"backfill not finished within the time budget: "
                        f"{', '.join(sorted(behind))} (the retry resumes it)")  # fmt: skip
        message = (
            f"batch {batch_index}: {'; '.join(what)} (the others are loaded; a retry "
            "re-extracts only these)"
        )
        if not behind and all(r["final"] for r in results if r["status"] == FAILED):
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(  # a revoked credential or invalid connection settings
                f"{message}; no retry: a retry reads the same credentials and settings"
            )
        raise BatchFailed(message, failed | behind)
    return summary


def _run_tenant(
    load: Any,
    tenant_id: str,
    run_id: str,
    batch_index: int,
    warehouse: Callable[[], Any],
    *,
    streams: list[str] | None,
    start_date: dt.date | None,
    context: Any,
    time_budget: float | None,
    alert_settings: Any = None,
    full_budget: bool = True,
) -> dict[str, Any]:
    """One tenant: load it, classify the outcome, write its row, log it (never raises).

    ``partial`` when its time budget ended while its streams ran (``TimeBudgetEnded``) and it
    had the batch's full budget; without it (started late, after slower neighbours), such an
    end is ``failed``, so the batch's retry runs it again with a fresh budget.

    Returns:
        The row, plus ``final``: the failure is one a retry cannot fix (``AirflowFailException``).
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
    from sendgrid_hook.redaction import scrub

    from sendgrid_elt.time_budget import TimeBudgetEnded

    started_at = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    status, error, records, requests, final = OK, None, 0, 0, False
    try:
        if time_budget is not None and time_budget <= 0:
            raise TimeoutError("the batch's time budget ended before this tenant started")
        result = load(
            tenant_id, run_id, streams=streams, start_date=start_date,
            context=context, time_budget=time_budget, alert_settings=alert_settings,
            warehouse=warehouse(),
        )  # fmt: skip
        records = sum(int(s.get("records") or 0) for s in result.get("streams", {}).values())
        requests = int(result.get("requests") or 0)
    except AirflowSkipException as exc:
        status, error = SKIPPED, scrub(exc)
    except TimeBudgetEnded as exc:  # its progress saved: the next run (a backfill: retry) resumes
        status, error = PARTIAL, scrub(exc)
        if not full_budget:
            status = FAILED
            error = scrub(f"{exc} (started with part of the batch's time left: retried)")
        records, requests = _counts_of(exc, "records"), _counts_of(exc, "requests")
    except Exception as exc:
        status, error = FAILED, scrub(f"{type(exc).__name__}: {exc}")
        records, requests = _counts_of(exc, "records"), _counts_of(exc, "requests")
        final = isinstance(exc, AirflowFailException)
    seconds = time.monotonic() - t0
    row = {
        "run_id": run_id, "tenant_id": tenant_id, "batch": batch_index, "status": status,
        "error": error, "records": records, "requests": requests, "seconds": seconds,
        "started_at": started_at, "ended_at": dt.datetime.now(dt.UTC),
    }  # fmt: skip
    try:
        _record(warehouse().connection(), row)
    except Exception as exc:
        log.error("tenant %s: could not record its outcome: %s", tenant_id, scrub(exc))
    level = logging.INFO if status == OK else logging.WARNING
    log.log(
        level, "tenant %s: %s in %.1fs (%d records, %d requests)%s",
        tenant_id, status, seconds, records, requests, f": {error}" if error else "",
    )  # fmt: skip
    return row | {"final": final}


def _counts_of(exc: BaseException, count: str) -> int:
    """The ``records`` or ``requests`` of the streams a failed tenant ran (``StreamsFailed``)."""
    outcomes = getattr(exc, "outcomes", None) or {}
    return sum(int(getattr(o, count, 0) or 0) for o in outcomes.values())


def _done(conn: Any, run_id: str, batch: Sequence[str], *, backfill: bool) -> dict[str, str]:
    """Tenant -> status of those not extracted again: ``ok``, and ``partial`` but in a backfill."""
    rows = conn.execute(
        f"select tenant_id, status from {_table()} where run_id = %s "  # noqa: S608
        "and status = any(%s) and tenant_id = any(%s)",
        (run_id, [OK] if backfill else [OK, PARTIAL], list(batch)),
    ).fetchall()
    return {tenant_id: status for tenant_id, status in rows}


def _claim(conn: Any, run_id: str, batch_index: int, tenant_ids: Sequence[str]) -> None:
    """Mark the tenants about to run ``running`` (an earlier try's ``ok`` is never touched)."""
    conn.execute(
        f"insert into {_table()} as r (run_id, tenant_id, batch, status, error) "  # noqa: S608
        "select %s, t, %s, %s, %s from unnest(%s::text[]) as t "
        "on conflict (run_id, tenant_id) do update set batch = excluded.batch, "
        "status = excluded.status, error = excluded.error, records = null, requests = null, "
        "seconds = null, started_at = null, ended_at = null where r.status <> 'ok'",
        (run_id, batch_index, RUNNING, UNFINISHED, list(tenant_ids)),
    )


def _record(conn: Any, row: dict[str, Any]) -> None:
    columns = list(row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ("run_id", "tenant_id"))
    conn.execute(
        f"insert into {_table()} ({', '.join(columns)}) "  # noqa: S608
        f"values ({', '.join(['%s'] * len(columns))}) "
        f"on conflict (run_id, tenant_id) do update set {updates} "
        # a stale try (a zombie of this run) finishing after its retry loaded the tenant
        f"where {_table()}.status <> 'ok' or excluded.status = 'ok'",
        [row[c] for c in columns],
    )


def warn_partial(results: Sequence[dict[str, Any]]) -> list[str]:
    """Log one WARNING naming the run's ``partial`` tenants (its batches' summaries); return them.

    A run whose only trouble is a tenant out of time succeeds (its marts are published on
    time): this line, in the run's last task, says which tenants the next run resumes.
    """
    partial = sorted(t for r in results for t, s in (r.get("tenants") or {}).items()
                     if s == PARTIAL)  # fmt: skip
    if partial:
        log.warning(
            "%d %s not finished within the time budget (partial: progress saved, resumed by the "
            "next run; see extract_run_tenants and stream_status): %s",
            len(partial), plural("tenant", len(partial)), ", ".join(partial),
        )  # fmt: skip
    return partial


def run_tenants(run_id: str) -> dict[str, dict[str, Any]]:
    """The summary rows of ``run_id``: tenant id -> its row (status, error, counts, batch)."""
    import psycopg

    from sendgrid_elt.warehouse import require_target

    with psycopg.connect(require_target().conninfo(), autocommit=True) as conn:
        cur = conn.execute(f"select * from {_table()} where run_id = %s", (run_id,))  # noqa: S608
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return {row["tenant_id"]: row for row in rows}
