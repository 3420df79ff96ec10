"""Load records into ``sendgrid_staging``: COPY a bounded batch, merge it, commit with its cursor.

Each batch is one transaction: ``COPY`` into a session temp table, a set-based merge into the
stream table, and the ``sync_state`` checkpoint. A process killed at any point loses at most
the open transaction; the rerun re-reads from the last committed cursor and the idempotent merge
converges to the same rows (exactly once).

* Snapshot streams keep one row per version ``(key, record_hash)``: a changed record retires the
  current version and inserts a new one; an unchanged one only moves ``last_seen_at``. Keys not
  seen by a *complete* snapshot are marked deleted by :meth:`StreamWriter.finish_snapshot`.
* Incremental and date-window streams keep one row per key (upsert).

``record_json`` is canonical JSON (sorted keys, compact); ``record_hash`` is its md5, computed
here so PostgreSQL does not re-serialize every record.

Rows reach the loader as ``(subuser, parent_key, record_key, record_json, cursor_value)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from hashlib import md5 as _md5
from queue import Full, Queue
from typing import TYPE_CHECKING, Any

from sendgrid_elt import sync_state
from sendgrid_elt.settings import STAGING_SCHEMA

if TYPE_CHECKING:
    import datetime as dt

    import psycopg

    from sendgrid_elt.catalog import StreamSpec

log = logging.getLogger(__name__)

Row = tuple[str, str, str, str, Any]
DEFAULT_BATCH_SIZE = 10_000
_TEMP = "_sg_batch"
_COLUMNS = (
    "tenant_id, subuser, parent_key, record_key, record_hash, record, first_seen_at, "
    "last_seen_at, extracted_at, run_id, is_current"
)


@dataclass
class UnitResult:
    """What one unit (a stream read as the parent or one subuser) wrote."""

    records: int = 0
    batches: int = 0
    cursor: dict[str, Any] | None = None


@dataclass
class StagingLoader:
    """Writes the streams of one tenant for one run through one psycopg connection.

    The connection must be in autocommit mode: the loader opens its own transactions.
    """

    conn: psycopg.Connection
    tenant_id: str
    run_id: str
    batch_size: int = DEFAULT_BATCH_SIZE
    _temp_ready: bool = field(default=False, init=False)

    def _ensure_temp(self) -> None:
        if self._temp_ready:
            return
        self.conn.execute(
            f"create temp table if not exists {_TEMP} (subuser text not null, "
            "parent_key text not null, record_key text not null, record_hash text not null, "
            "record jsonb not null) "
            "on commit delete rows"
        )
        self._temp_ready = True

    def stream(self, spec: StreamSpec) -> StreamWriter:
        """Start writing ``spec``; the database clock at this moment is the ``seen`` time."""
        self._ensure_temp()
        started = self.conn.execute("select now()").fetchone()[0]
        return StreamWriter(self, spec, started)


@dataclass
class StreamWriter:
    """Writes one stream of one tenant (any number of units, then the snapshot end)."""

    loader: StagingLoader
    spec: StreamSpec
    seen_at: dt.datetime
    records: int = 0

    @property
    def table(self) -> str:
        """Qualified table name."""
        return f'"{STAGING_SCHEMA}"."{self.spec.name}"'

    def write_unit(
        self,
        subuser: str,
        rows: Iterable[Row],
        *,
        prev_cursor: dict[str, Any] | None = None,
        checkpoint: bool = False,
    ) -> UnitResult:
        """Load every row of one unit in bounded batches, each committed with its cursor.

        Args:
            subuser: The unit's ``sync_state`` subuser (``''`` for the parent account).
            rows: Rows streamed from the API (consumed lazily).
            prev_cursor: Cursor stored before this run (``{"value": ...}``).
            checkpoint: Commit the running maximum cursor with every batch (incremental
                streams whose rows arrive in cursor order; ignored once they do not).

        Returns:
            Records and batches written and the final cursor (committed with the last batch).
        """
        conn, loader = self.loader.conn, self.loader
        result = UnitResult()
        best = (prev_cursor or {}).get("value")
        ordered, last_cv = True, None
        for batch, is_last in _batches(rows, loader.batch_size):
            for row in batch.values():
                cv = row[4]
                if cv is None:
                    continue
                if last_cv is not None and cv < last_cv:
                    ordered = False
                last_cv = cv
                if best is None or cv > best:
                    best = cv
            cursor = {"value": best} if best is not None else None
            with conn.transaction():
                self._merge(batch)
                if is_last:
                    sync_state.save_cursor(
                        conn, loader.tenant_id, self.spec.name, subuser, cursor, loader.run_id,
                        complete=True, rows=result.records + len(batch),
                    )  # fmt: skip
                elif checkpoint and ordered and cursor is not None:
                    sync_state.save_cursor(
                        conn, loader.tenant_id, self.spec.name, subuser, cursor, loader.run_id
                    )
            result.records += len(batch)
            result.batches += 1
            result.cursor = cursor
        self.records += result.records
        return result

    def _merge(self, batch: dict[tuple[str, str, str], Row]) -> None:
        if not batch:
            return
        conn = self.loader.conn
        with conn.cursor() as cur:
            with cur.copy(
                f"copy {_TEMP} (subuser, parent_key, record_key, record_hash, record) from stdin"
            ) as cp:
                for sub, parent, key, text, _ in batch.values():
                    cp.write_row(
                        (
                            sub,
                            parent,
                            key,
                            _md5(text.encode(), usedforsecurity=False).hexdigest(),
                            text,
                        )
                    )
            params = {"t": self.loader.tenant_id, "seen": self.seen_at, "run": self.loader.run_id}
            select = (
                f"select %(t)s, subuser, parent_key, record_key, record_hash, record, "  # noqa: S608
                f"%(seen)s, %(seen)s, now(), %(run)s, true from {_TEMP}"
            )
            if self.spec.versioned:
                cur.execute(
                    f"update {self.table} t set is_current = false from {_TEMP} b "  # noqa: S608
                    "where t.tenant_id = %(t)s and t.subuser = b.subuser "
                    "and t.parent_key = b.parent_key and t.record_key = b.record_key "
                    "and t.is_current and t.record_hash <> b.record_hash",
                    params,
                )
                cur.execute(
                    f"insert into {self.table} as t ({_COLUMNS}) {select} "
                    "on conflict (tenant_id, subuser, parent_key, record_key, record_hash) "
                    "do update set last_seen_at = excluded.last_seen_at, "
                    "extracted_at = excluded.extracted_at, run_id = excluded.run_id, "
                    "is_current = true, deleted_at = null",
                    params,
                )
            else:
                cur.execute(
                    f"insert into {self.table} as t ({_COLUMNS}) {select} "
                    "on conflict (tenant_id, subuser, parent_key, record_key) do update set "
                    "record = excluded.record, record_hash = excluded.record_hash, "
                    "first_seen_at = case when t.record_hash = excluded.record_hash "
                    "then t.first_seen_at else excluded.first_seen_at end, "
                    "last_seen_at = excluded.last_seen_at, "
                    "extracted_at = excluded.extracted_at, run_id = excluded.run_id",
                    params,
                )

    def finish_snapshot(self, *, excluded_subusers: Iterable[str] = ()) -> int:
        """Mark current keys this complete snapshot did not see as deleted.

        Call only when every unit of the stream completed, except ``excluded_subusers`` (units
        that failed or were skipped: their rows are left alone).

        Returns:
            Keys newly marked deleted.
        """
        if not self.spec.versioned:
            return 0
        conn = self.loader.conn
        with conn.transaction():
            cur = conn.execute(
                f"update {self.table} set deleted_at = now(), run_id = %(run)s "  # noqa: S608
                "where tenant_id = %(t)s and is_current and deleted_at is null "
                "and last_seen_at < %(seen)s and not (subuser = any(%(skip)s))",
                {
                    "t": self.loader.tenant_id,
                    "seen": self.seen_at,
                    "run": self.loader.run_id,
                    "skip": list(excluded_subusers),
                },
            )
            return cur.rowcount


def _batches(rows: Iterable[Row], size: int, prefetch: int = 2) -> Iterator[tuple[dict, bool]]:
    """Yield ``(batch, is_last)``; a batch maps key → row (a later duplicate wins).

    A producer thread reads ``rows`` (the API pages) while the caller merges the previous
    batch, so HTTP and PostgreSQL work overlap; at most ``prefetch`` batches wait in between
    (bounded memory). One row of lookahead tells whether a full batch is the last one. An
    empty input yields one empty last batch, so the final cursor is still committed.
    """
    done = threading.Event()
    queue: Queue = Queue(maxsize=max(1, prefetch))

    def put(item: object) -> bool:
        while not done.is_set():
            try:
                queue.put(item, timeout=0.2)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in _plain_batches(rows, size):
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="staging-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item[1]:
                return
    finally:
        done.set()
        thread.join(timeout=5)


def _plain_batches(rows: Iterable[Row], size: int) -> Iterator[tuple[dict, bool]]:
    it = iter(rows)
    pending = next(it, None)
    while True:
        batch: dict[tuple[str, str, str], Row] = {}
        while pending is not None and len(batch) < size:
            batch[(pending[0], pending[1], pending[2])] = pending
            pending = next(it, None)
        yield batch, pending is None
        if pending is None:
            return


class Progress:
    """Logs stream progress: pages, records and records/s."""

    def __init__(self, stream: str, every: float = 10.0) -> None:
        self.stream = stream
        self.every = every
        self.start = time.monotonic()
        self._last = self.start

    def tick(self, records: int, pages: int) -> None:
        """Log when ``every`` seconds passed since the last line."""
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._log(records, pages, now, "…")

    def done(self, records: int, pages: int) -> float:
        """Log the final line; return the elapsed seconds."""
        now = time.monotonic()
        self._log(records, pages, now, "done")
        return now - self.start

    def _log(self, records: int, pages: int, now: float, what: str) -> None:
        elapsed = max(now - self.start, 1e-6)
        log.info(
            "stream %s %s: pages=%d records=%d records/s=%.0f elapsed=%.1fs",
            self.stream, what, pages, records, records / elapsed, elapsed,
        )  # fmt: skip
