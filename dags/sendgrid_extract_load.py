"""Extract every SendGrid tenant into ``sendgrid_staging`` (the E and L of the ELT).

``prepare_staging`` → ``list_tenants`` (the tenants in at most ``EXTRACT_MAX_BATCHES`` batches,
env ``SENDGRID_EXTRACT_MAX_BATCHES``; a full discovery also marks known tenants it no longer
finds as removed, which the marts leave out) → ``extract_load`` (one mapped task per batch, pool
``sendgrid_api``; its tenants run ``EXTRACT_TENANT_THREADS`` at a time, env
``SENDGRID_EXTRACT_TENANT_THREADS``, see ``sendgrid_elt.batches``) → ``publish_staging_asset``
(emits the ``sendgrid_staging`` asset with per-stream row counts and ``as_of``, the run's data
interval end that the transform passes to dbt as the var ``sendgrid_as_of``; runs even if a
tenant failed, so one broken tenant does not hold back the others' marts) and ``check_tenants``
(fails the run when a tenant failed; names the tenants left ``partial``).
A failing tenant never fails the other tenants of its batch; the batch fails at the end, after
writing each tenant's outcome to ``sendgrid_staging.extract_run_tenants`` and naming each in its
log, and a retry or clear re-extracts only its tenants not done in the run.

Tenants are discovered at run time (see ``sendgrid_elt.tenants``): every ``sendgrid``
connection in the metadata DB (listed through the Airflow REST API with the
``sendgrid_airflow_api`` connection), every one defined as ``AIRFLOW_CONN_*``, and the ids in
the Variable ``sendgrid_tenants`` (for other secrets backends, which Airflow cannot list).
Params: ``start_date`` (backfill from that day; a retry or cleared task of the run resumes
each unit from what an earlier try saved), ``tenants`` and ``streams`` (partial reruns). A
stream that does not exist, or a ``start_date`` after the run's as-of or before 2009, fails
``list_tenants`` once with the reason (``sendgrid_elt.run_params``).

Each batch's task has an ``execution_timeout`` (``EXTRACT_TASK_TIMEOUT``, env
``SENDGRID_EXTRACT_TIMEOUT_MINUTES``), and its tenants a time budget a little shorter, so a stuck or
slow tenant ends itself cleanly (state saved, reason in ``stream_status``) and frees its pool
slot. Such a tenant is ``partial``, not failed: its batch does not fail nor retry for it (each
try would run out of time again, and the publish would wait hours for them), so the others'
marts are not held back; the next run resumes it from its saved state. Its row, a WARNING of the
batch log and of ``check_tenants``, its health and the published summary (its streams in
``error``) say it did not finish. In a backfill run (``start_date``) it still fails the batch:
the retries of that run resume the backfill, each from what the earlier tries saved, until it
completes. Failures (a 503 storm, the network) fail the batch and are retried. One run per
tenant at a time: a second run waits for the tenant's lock
(``SENDGRID_TENANT_LOCK_WAIT_SECONDS``), then skips it.

Setup once per deployment: the pool capping concurrent batches (each up to
``EXTRACT_TENANT_THREADS`` tenants), e.g. ``airflow pools set sendgrid_api 8 "SendGrid API:
concurrent tenant batches"`` as the compose file's init does (``SENDGRID_API_POOL_SLOTS``; the
demo makes 4). Tasks in a missing pool never start on a scheduler; ``dag.test()`` ignores pools.

Nothing here touches the network or a database at import time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from sendgrid_elt.assets import STAGING_ASSET
from sendgrid_elt.run_alerts import RunFailureNotifier
from sendgrid_elt.settings import API_POOL, EXTRACT_DAG_ID, EXTRACT_TASK_TIMEOUT


def _as_of(context: Any) -> dt.datetime | None:
    """The run's as-of instant: its data interval end (``run_after`` without a logical date)."""
    dag_run = context.get("dag_run")
    return context.get("data_interval_end") or getattr(dag_run, "run_after", None)


@dag(
    dag_id=EXTRACT_DAG_ID,
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["sendgrid", "extract", "load"],
    params={
        "start_date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Backfill from this day (YYYY-MM-DD); empty = continue from state.",
        ),
        "tenants": Param(
            [], type="array", items={"type": "string"}, description="Only these tenant ids."
        ),
        "streams": Param(
            [], type="array", items={"type": "string"}, description="Only these streams."
        ),
    },
    doc_md=__doc__,
    on_failure_callback=RunFailureNotifier(),  # one alert per failed run (sendgrid_elt.run_alerts)
)
def sendgrid_extract_load():
    @task
    def prepare_staging() -> str:
        from sendgrid_elt.extract_load import prepare_staging

        return prepare_staging()

    @task
    def list_tenants(params: dict | None = None) -> list[list[str]]:
        from sendgrid_elt.batches import split
        from sendgrid_elt.extract_load import known_tenants, record_roster
        from sendgrid_elt.run_params import check_params
        from sendgrid_elt.tenants import discover

        as_of = _as_of(get_current_context())
        check_params(params, as_of)  # a typo fails here, once, not per tenant
        requested = (params or {}).get("tenants") or None
        found = discover(requested, known=() if requested else known_tenants())
        if not requested:  # a full discovery: known tenants it lacks were deleted
            record_roster(found, as_of=as_of)
        return split(found)

    @task(
        pool=API_POOL,
        retries=3,
        retry_delay=dt.timedelta(minutes=1),
        retry_exponential_backoff=2.0,
        max_retry_delay=dt.timedelta(minutes=30),
        execution_timeout=EXTRACT_TASK_TIMEOUT,
        map_index_template="{{ batch_label }}",
    )
    def extract_load(
        batch: list[str], params: dict | None = None, run_id: str | None = None
    ) -> dict:
        from sendgrid_elt.batches import label, run_batch
        from sendgrid_elt.run_params import parse_start_date

        context = get_current_context()
        context["batch_label"] = label(batch)  # type: ignore[typeddict-unknown-key]
        ti = context.get("ti")
        params = params or {}
        return run_batch(
            batch,
            run_id or "manual",
            batch_index=max(0, getattr(ti, "map_index", 0) or 0),
            streams=params.get("streams") or None,
            start_date=parse_start_date(params.get("start_date")),
            context=context,
        )

    @task(outlets=[STAGING_ASSET], trigger_rule="all_done")
    def publish_staging_asset(run_id: str | None = None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from sendgrid_elt.publish import staging_summary

        context = get_current_context()
        summary = staging_summary(run_id or "manual", as_of=_as_of(context))
        if not summary["tenants"]:
            raise AirflowSkipException("no tenant loaded anything in this run")
        context["outlet_events"][STAGING_ASSET].extra = summary
        return summary

    @task
    def check_tenants(results: list[dict]) -> int:
        from sendgrid_elt.batches import warn_partial

        results = list(results)
        warn_partial(results)
        return len(results)

    ready = prepare_staging()
    tenants = list_tenants()
    ready >> tenants
    loaded = extract_load.expand(batch=tenants)
    loaded >> publish_staging_asset()
    check_tenants(loaded)


sendgrid_extract_load()
