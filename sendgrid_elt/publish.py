"""What an extract run publishes: the staging asset event's extra and the run's as-of instant.

The extra stays the same size whatever the number of tenants (it is stored in Airflow's
metadata database twice, as the asset event's extra and as the task's XCom, and handed to every
transform run it triggers): totals per stream and per status, the records rejected, and at
most :data:`NAMED_TENANTS` tenants named. Each tenant's streams are in
``sendgrid_staging.stream_status`` and its outcome in ``extract_run_tenants``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sendgrid_elt import sync_state
from sendgrid_elt.settings import AS_OF_EXTRA, STAGING_SCHEMA

log = logging.getLogger(__name__)

#: The most tenants the extra names (failed ones, sorted).
NAMED_TENANTS = 20


def staging_summary(run_id: str, as_of: dt.datetime | None = None) -> dict[str, Any]:
    """Row counts and stream statuses of ``run_id``, read back from ``stream_status``.

    Counts and statuses only, no secrets; the size is bounded whatever the number of tenants.

    Args:
        run_id: The extract run.
        as_of: The run's as-of instant (its data interval end). When given and a tenant
            loaded something, it is recorded in ``extract_runs`` (what a dbt run without the
            ``sendgrid_as_of`` var falls back to) and returned as ``as_of`` (ISO-8601 UTC).
            It never goes back: a cleared old run or a backfill reads today's data, so it is
            published as of the newest run recorded (the marts never move back in time). A run
            already recorded keeps its recorded as-of when published again: the rows its first
            publish counted were read then, and the marts date a stream's last good read by
            it (a cleared run re-reading a tenant dates that tenant's reads early: never late).

    Returns:
        ``{"run_id", "schema", "records", "rows": {stream: records}, "tenants": count (with
        stream rows), "tenant_outcomes": {ok | partial | failed | skipped | running: n} (the
        batches' rows; partial: out of its time budget, resumed next run), "not_ok": {status:
        {"streams": n, "tenants": n}}, "failed_tenants": {"count": n, "first": [tenant_id,
        ...]} (failed in its batch, or a stream in error: partial ones too), "rejected":
        {"records": n, "tenants": n} (records this run read but could not load, kept in the
        rejects table), "detail"}``, plus ``"as_of"`` when given. The same counts are logged.
    """
    import psycopg

    from sendgrid_elt.batches import FAILED, RUNNING
    from sendgrid_elt.staging_schema import extract_run_tenants, stream_status
    from sendgrid_elt.warehouse import require_target

    status_table = f'"{STAGING_SCHEMA}".{stream_status.name}'
    outcome_table = f'"{STAGING_SCHEMA}".{extract_run_tenants.name}'
    with psycopg.connect(require_target().conninfo(), autocommit=True) as conn:
        per_stream = conn.execute(
            "select stream, status, count(*), coalesce(sum(records), 0) "  # noqa: S608
            f"from {status_table} where run_id = %s group by stream, status",
            (run_id,),
        ).fetchall()
        (tenants,) = conn.execute(
            f"select count(distinct tenant_id) from {status_table} where run_id = %s",  # noqa: S608
            (run_id,),
        ).fetchone()
        outcomes = dict(
            conn.execute(
                f"select status, count(*) from {outcome_table} where run_id = %s "  # noqa: S608
                "group by status",
                (run_id,),
            ).fetchall()
        )
        # failed: the batch says so (a tenant that failed before its streams has no stream
        # row), its task never finished it (still running once the run is over), or one of
        # its streams ended in error
        failed, first_failed = conn.execute(
            "select count(*), coalesce((array_agg(tenant_id order by tenant_id))[1:%s], "  # noqa: S608
            f"'{{}}') from (select tenant_id from {outcome_table} where run_id = %s and "
            f"status = any(%s) union select tenant_id from {status_table} where run_id = %s "
            "and status = 'error') as failed",
            (NAMED_TENANTS, run_id, [FAILED, RUNNING], run_id),
        ).fetchone()
        not_ok_tenants = dict(
            conn.execute(
                f"select status, count(distinct tenant_id) from {status_table} "  # noqa: S608
                "where run_id = %s and status <> 'ok' group by status",
                (run_id,),
            ).fetchall()
        )
        # records seen in this run that could not be loaded (a reject seen again by a later
        # run moves to that run: its first run's summary, published again, no longer counts it)
        rejected, rejected_tenants = conn.execute(
            f'select count(*), count(distinct tenant_id) from "{STAGING_SCHEMA}".rejects '  # noqa: S608
            "where run_id = %s",
            (run_id,),
        ).fetchone()
        rows: dict[str, int] = {}
        not_ok: dict[str, dict[str, int]] = {}
        for stream, status, count, records in sorted(per_stream):
            rows[stream] = rows.get(stream, 0) + int(records)
            if status != "ok":
                entry = not_ok.setdefault(status, {"streams": 0, "tenants": 0})
                entry["streams"] += count
                entry["tenants"] = not_ok_tenants.get(status, 0)
        summary: dict[str, Any] = {
            "run_id": run_id,
            "schema": STAGING_SCHEMA,
            "records": sum(rows.values()),
            "rows": rows,
            "tenants": tenants,
            "tenant_outcomes": outcomes,
            "not_ok": not_ok,
            "failed_tenants": {"count": failed, "first": list(first_failed)},
            "rejected": {"records": rejected, "tenants": rejected_tenants},
            "detail": f"{STAGING_SCHEMA}.stream_status, extract_run_tenants and rejects, by run_id",
        }
        log.info("run %s: %d records from %d tenants, %d failed; %d records rejected (%d "
                 "tenants, see %s.rejects); streams not ok: %s", run_id, summary["records"],
                 tenants, failed, rejected, rejected_tenants, STAGING_SCHEMA,
                 {k: v["streams"] for k, v in not_ok.items()} or "none")  # fmt: skip
        if as_of is not None:
            instant = as_of.astimezone(dt.UTC)
            latest = sync_state.published_as_of(conn, excluding=run_id)
            if latest is not None and latest > instant:  # an old run cleared, or a backfill
                log.info("run %s read today's data after a newer run: published as of %s, not "
                         "its interval end %s", run_id, latest, instant)  # fmt: skip
                instant = latest
            summary[AS_OF_EXTRA] = instant.isoformat().replace("+00:00", "Z")
            if tenants:
                conn.execute(
                    f'insert into "{STAGING_SCHEMA}".extract_runs (run_id, as_of, '  # noqa: S608
                    "published_at, tenants, records) values (%s, %s, now(), %s, %s) "
                    "on conflict (run_id) do update set "  # its as-of is kept: see above
                    "published_at = excluded.published_at, "
                    "tenants = excluded.tenants, records = excluded.records",
                    (run_id, instant, tenants, summary["records"]),
                )
    return summary
