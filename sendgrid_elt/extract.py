"""Extract every catalog stream of one tenant through the SendGrid hook into the staging schema.

:class:`TenantExtractor` interprets :mod:`sendgrid_elt.catalog`: it turns a spec into requests
(units per subuser, fan-out per parent id, date windows, cursors), shapes the records into
staging rows and hands them to :class:`sendgrid_elt.loader.StagingLoader` as a lazy stream.

Outcomes per stream (also written to ``stream_status``):

* ``missing_scope`` - the credential lacks the stream's scope (checked against ``/v3/scopes``
  up front, or a 403 on a stream that needs no plan feature): skipped, the rest run;
* ``not_licensed`` - 403/404 on a stream tied to a plan feature: a utilization fact;
* ``error`` - anything else the hook raised after its retries; the other streams still run and
  the task fails at the end (Airflow retries it; reruns converge);
* ``ok``.

:class:`~sendgrid_hook.errors.ReconnectRequired` is never caught here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sendgrid_elt import catalog, sync_state
from sendgrid_elt.loader import DEFAULT_BATCH_SIZE, Progress, Row, StagingLoader
from sendgrid_elt.settings import STAGING_SCHEMA

if TYPE_CHECKING:
    import psycopg

    from sendgrid_elt.catalog import StreamSpec

log = logging.getLogger(__name__)

_EPOCH = dt.date(1970, 1, 1)
_CARRY = ("date",)  # parent fields copied into exploded child records
#: Canonical JSON (sorted keys, compact, UTF-8): the ``record`` text and its ``record_hash``.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode


@dataclass
class StreamOutcome:
    """Result of one stream for one tenant (no secrets: safe for logs, XCom, asset extras)."""

    stream: str
    status: str
    records: int = 0
    requests: int = 0
    seconds: float = 0.0
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "status": self.status,
            "records": self.records,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            **({"detail": self.detail} if self.detail else {}),
        }


class StreamsFailed(Exception):
    """Some streams of a tenant ended in ``error`` (the others were loaded)."""


class _Skip(Exception):
    """Internal: the stream is skipped with a status (missing scope / not licensed)."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _errors():
    from sendgrid_hook import errors

    return errors


class TenantExtractor:
    """Run catalog streams for one tenant (one ``sendgrid`` connection).

    Args:
        hook: A ``SendGridHook`` (or anything with the same reading interface).
        conn: psycopg connection to the warehouse, autocommit mode.
        tenant_id: The connection id.
        run_id: Airflow run id (written on every row).
        start_date: Backfill from this day (date-window and incremental streams), else state.
        today: The API's current date (the simulator's clock); defaults to UTC today.
        batch_size: Rows per COPY/merge transaction.
    """

    def __init__(
        self,
        hook: Any,
        conn: psycopg.Connection,
        tenant_id: str,
        run_id: str,
        *,
        start_date: dt.date | None = None,
        today: dt.date | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.hook = hook
        self.conn = conn
        self.tenant_id = tenant_id
        self.run_id = run_id
        self.start_date = start_date
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.loader = StagingLoader(conn, tenant_id, run_id, batch_size=batch_size)
        self.granted: frozenset[str] | None = None

    # ----- whole tenant -------------------------------------------------------------------
    def run(self, streams: list[str] | None = None) -> dict[str, StreamOutcome]:
        """Run the selected streams (all by default) in catalog order.

        Raises:
            ReconnectRequired: The credential no longer works (from the hook, untouched).
            StreamsFailed: At least one stream ended in ``error`` (after all were tried).
        """
        self.granted = self.hook.granted_scopes()
        self.today = self.hook.api_date() or self.today
        outcomes: dict[str, StreamOutcome] = {}
        for spec in catalog.select(streams):
            outcome = self.run_stream(spec)
            outcomes[spec.name] = outcome
            with self.conn.transaction():
                sync_state.save_status(
                    self.conn, self.tenant_id, spec.name, outcome.status, self.run_id,
                    detail=outcome.detail, records=outcome.records, requests=outcome.requests,
                    seconds=outcome.seconds,
                )  # fmt: skip
        failed = sorted(n for n, o in outcomes.items() if o.status == "error")
        if failed:
            raise StreamsFailed(f"tenant {self.tenant_id}: streams failed: {', '.join(failed)}")
        return outcomes

    # ----- one stream ---------------------------------------------------------------------
    def run_stream(self, spec: StreamSpec) -> StreamOutcome:
        """Extract and load one stream; never raises except for ``ReconnectRequired``."""
        errors = _errors()
        start, requests_before = time.monotonic(), self.hook.request_count
        outcome = StreamOutcome(spec.name, "ok")
        try:
            skip = catalog.scope_status(spec, self.granted) if self.granted is not None else None
            if skip is not None:
                raise _Skip(*skip)
            outcome.records, outcome.detail = self._load(spec)
        except _Skip as skip:
            outcome.status, outcome.detail = skip.status, skip.detail
        except errors.ReconnectRequired:
            raise
        except errors.SendGridError as exc:
            outcome.status, outcome.detail = "error", f"{type(exc).__name__}: {exc}"[:500]
            log.warning("stream %s failed: %s", spec.name, outcome.detail)
        outcome.seconds = time.monotonic() - start
        outcome.requests = self.hook.request_count - requests_before
        if outcome.status != "ok":
            log.info("stream %s: %s (%s)", spec.name, outcome.status, outcome.detail)
        return outcome

    def _load(self, spec: StreamSpec) -> tuple[int, str | None]:
        errors = _errors()
        writer = self.loader.stream(spec)
        progress = Progress(spec.name)
        pages0 = self.hook.request_count
        skipped: list[str] = []
        for unit in self._units(spec):
            cursor = sync_state.load_cursor(self.conn, self.tenant_id, spec.name, unit)
            rows = self._progress_rows(self._rows(spec, unit, cursor), progress, writer, pages0)
            try:
                writer.write_unit(
                    unit, rows, prev_cursor=cursor, checkpoint=spec.mode == "incremental"
                )
            except (errors.SendGridForbiddenError, errors.SendGridNotFoundError) as exc:
                if unit == "":
                    raise self._licence(spec, exc) from None
                skipped.append(unit)
                log.info("stream %s: subuser %s skipped (%s)", spec.name, unit, exc.status_code)
        deleted = writer.finish_snapshot(excluded_subusers=skipped) if spec.versioned else 0
        progress.done(writer.records, self.hook.request_count - pages0)
        detail = []
        if deleted:
            detail.append(f"{deleted} keys marked deleted")
        if skipped:
            detail.append(f"subusers skipped (403/404): {', '.join(skipped)}")
        return writer.records, "; ".join(detail) or None

    def _licence(self, spec: StreamSpec, exc: Any) -> _Skip:
        code = getattr(exc, "status_code", None)
        if spec.feature:
            return _Skip("not_licensed", f"{code} on {spec.path}: plan lacks {spec.feature}")
        if code == 403:
            return _Skip("missing_scope", f"403 on {spec.path} (scope {spec.scope})")
        return _Skip("not_licensed", f"{code} on {spec.path}")

    def _progress_rows(
        self, rows: Iterator[Row], progress: Progress, writer: Any, pages0: int
    ) -> Iterator[Row]:
        for n, row in enumerate(rows, 1):
            if n % 5000 == 0:
                progress.tick(writer.records + n, self.hook.request_count - pages0)
            yield row

    # ----- units, requests, rows ----------------------------------------------------------
    def _units(self, spec: StreamSpec) -> list[str]:
        if not spec.per_subuser:
            return [""]
        return ["", *self._subusers()]

    def _subusers(self) -> list[str]:
        flt = getattr(self.hook, "subusers_filter", "all")
        if flt == "none":
            return []
        names = self._parent_ids(catalog.get("subusers"), "username", "")
        if isinstance(flt, list | tuple):
            names = [n for n in names if n in set(flt)]
        return names

    def _parent_ids(self, parent: StreamSpec, field: str, subuser: str) -> list[str]:
        rows = self.conn.execute(
            f'select distinct record->>%s from "{STAGING_SCHEMA}"."{parent.name}" '  # noqa: S608
            "where tenant_id = %s and subuser = %s and is_current and deleted_at is null "
            "and record->>%s is not null order by 1",
            (field, self.tenant_id, subuser, field),
        ).fetchall()
        return [r[0] for r in rows]

    def _requests(
        self, spec: StreamSpec, unit: str, cursor: dict
    ) -> Iterator[tuple[str, dict[str, Any], str | None]]:
        """Yield ``(path, params, parent_id)`` for every request sequence of one unit."""
        base = dict(spec.params)
        for window in self._windows(spec, cursor):
            params = {**base, **window}
            fan = spec.fan_out
            if fan is None:
                yield spec.path, params, None
                continue
            parent_unit = unit if catalog.get(fan.parent).per_subuser else ""
            ids = self._parent_ids(catalog.get(fan.parent), fan.field, parent_unit)
            if fan.path_param:
                for pid in ids:
                    yield (
                        spec.path.replace(f"{{{fan.path_param}}}", quote(pid, safe="")),
                        (params),
                        pid,
                    )
            else:
                for i in range(0, len(ids), fan.chunk):
                    yield spec.path, {**params, fan.param: ids[i : i + fan.chunk]}, None

    def _windows(self, spec: StreamSpec, cursor: dict) -> list[dict[str, Any]]:
        value = cursor.get("value")
        if spec.mode == "incremental" and spec.cursor is not None:
            if self.start_date is not None:
                return [{spec.cursor.start_param: (self.start_date - _EPOCH).days * 86400}]
            if value is not None:
                return [{spec.cursor.start_param: max(0, int(value) - spec.cursor.overlap)}]
            return [{}]
        if spec.mode != "date_window" or spec.window is None:
            return [{}]
        w = spec.window
        if self.start_date is not None:
            start = self.start_date
        elif value:
            start = dt.date.fromisoformat(value) - dt.timedelta(days=w.lookback_days)
        else:
            start = first_of_month(self.today, -w.initial_months)
        start = min(start, self.today)
        extra = dict(w.extra_params)
        if not w.monthly:
            return [{**extra, w.start_param: start.isoformat()}]
        months, month = [], start.replace(day=1)
        while month <= self.today:
            months.append({**extra, w.start_param: month.isoformat()})
            month = first_of_month(month, 1)
        return months

    def _rows(self, spec: StreamSpec, unit: str, cursor: dict) -> Iterator[Row]:
        """Plan the unit's requests now (parent ids come from the database), fetch lazily.

        The returned generator may run in the loader's prefetch thread: it only does HTTP.
        """
        plan = list(self._requests(spec, unit, cursor))
        return self._fetch(spec, unit, plan)

    def _fetch(
        self, spec: StreamSpec, unit: str, plan: list[tuple[str, dict[str, Any], str | None]]
    ) -> Iterator[Row]:
        errors = _errors()
        obo = unit or None
        for path, params, pid in plan:
            records = self.hook.iter_records(
                path,
                pagination=spec.pagination,
                records_path=spec.records_path,
                params=params,
                page_size=spec.page_size,
                on_behalf_of=obo,
            )
            try:
                for record in records:
                    yield from shape(spec, record, unit, pid)
            except errors.SendGridNotFoundError:
                if pid is None:
                    raise
                log.info("stream %s: parent %s vanished (404), skipped", spec.name, pid)


def shape(spec: StreamSpec, record: Any, unit: str, parent_id: str | None) -> Iterator[Row]:
    """Turn one API record into staging rows (exploded, keyed, serialized)."""
    if spec.scalar_field and not isinstance(record, dict):
        record = {spec.scalar_field: record}
    if not isinstance(record, dict) or (spec.skip_empty and not record):
        return
    for name in spec.drop_fields:
        record.pop(name, None)
    if spec.explode:
        items = []
        for item in record.get(spec.explode) or ():
            if isinstance(item, dict):
                carried = {k: record[k] for k in _CARRY if k in record and k not in item}
                items.append({**carried, **item})
    else:
        items = [record]
    fan = spec.fan_out
    for item in items:
        subuser, parent_key = unit, ""
        if fan is not None and parent_id is not None and fan.as_subuser:
            subuser = parent_id
        if fan is not None and fan.as_parent_key:
            parent_key = str(item.get(fan.child_field) if fan.child_field else parent_id or "")
        if spec.subuser_field:
            subuser = str(item.get(spec.subuser_field) or "")
        key = "|".join(_key_part(item, p, subuser, parent_key) for p in spec.primary_key)
        cv = None
        if spec.mode == "incremental" and spec.cursor is not None:
            cv = item.get(spec.cursor.field)
        elif spec.mode == "date_window":
            cv = item.get("date")
        text = _encode(item)
        yield subuser, parent_key, key, text, cv


def _key_part(item: dict, path: str, subuser: str, parent_key: str) -> str:
    if path == "@subuser":
        return subuser
    if path == "@parent":
        return parent_key
    value = item.get(path)
    return "" if value is None else str(value)


def first_of_month(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` away from ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
