"""Load records into ``sendgrid_staging``: COPY a bounded batch, merge it, commit with its cursor.

Each batch is one transaction: the rows, the batch's rejects and the ``sync_state`` checkpoint.
A process killed at any point loses at most the open transaction; the rerun re-reads from the
last committed cursor and the idempotent merge converges to the same rows (exactly once). The
loader's session uses ``synchronous_commit = off``: a server crash may forget the last commits,
data and cursor together, which the next run re-reads (still exactly once).

How a batch is written (binary ``COPY`` framed by :mod:`sendgrid_elt.copy_binary`; the
record's JSON bytes are sent as they came from :mod:`sendgrid_elt.records`, never
re-serialized):

* Snapshot streams keep one row per version ``(key, record_hash)``: ``COPY`` into a session temp
  table, then a changed record retires the current version and inserts a new one, an unchanged
  one only moves ``last_seen_at``. Keys not seen by a *complete* snapshot are marked deleted by
  :meth:`StreamWriter.finish_snapshot` (most of a unit's keys at once: only when the next
  complete read agrees, :mod:`sendgrid_elt.snapshot_guard`).
* Incremental and date-window streams keep one row per key. Rows newer than the unit's stored
  cursor are new keys almost always: they are ``COPY``-ed straight into the stream table, the
  batch transaction's first statement (no temp table, no ``ON CONFLICT``, no savepoint); if one
  key exists after all, the transaction rolls back and the whole batch is written again through
  the upsert path (``COPY`` to the temp table, then ``INSERT ... ON CONFLICT``) like every other
  row.
* A batch PostgreSQL refuses (a value it cannot store, a key too long for its index) is split in
  halves under savepoints until the refused records are alone; those go to the rejects table.

Rows reach the loader as pages of :data:`sendgrid_elt.records.Row` tuples and ``Reject``
objects (:data:`sendgrid_elt.records.Page`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import psycopg
from sendgrid_hook.display import shorten

from sendgrid_elt import snapshot_guard, sync_state
from sendgrid_elt.copy_binary import framed_rows, text_field, timestamptz_field
from sendgrid_elt.load_batches import (
    KEY_ORDER,
    Batch,
    Progress,
    prefetched_batches,
    prepare_batch,
)
from sendgrid_elt.rejects import Reject, save_rejects, storable
from sendgrid_elt.settings import STAGING_SCHEMA
from sendgrid_elt.snapshot_guard import Held

if TYPE_CHECKING:
    import datetime as dt

    from sendgrid_elt.catalog import StreamSpec
    from sendgrid_elt.records import Page, Row

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DIRECT_COLUMNS",
    "Progress",
    "StagingLoader",
    "StreamWriter",
    "UnitResult",
]

#: Rows per batch (one transaction). At most three batches live at once (being read, waiting,
#: being written): 10,000 bounces rows are about 6 MiB. 5,000 cut the peak RSS by ~5 MiB but
#: made extract+load ~20 % slower (bench_extract_load, side by side), so 10,000 stays.
DEFAULT_BATCH_SIZE = 10_000
_TEMP = "_sg_batch"
_KEY = "subuser, parent_key, record_key, record_hash, record"
#: The stream table columns a batch writes, in the order its binary ``COPY`` frames them.
DIRECT_COLUMNS = f"tenant_id, {_KEY}, first_seen_at, last_seen_at, extracted_at, run_id"
#: What makes PostgreSQL refuse one record (the batch is split to find it).
_REFUSALS = (psycopg.errors.DataError, psycopg.errors.ProgramLimitExceeded)


class _DirectRefused(Exception):
    """Internal: the direct ``COPY`` of a batch's fresh rows was refused (rolled back)."""


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

    @property
    def encoding(self) -> str:
        """The connection's client encoding (Python codec name), for COPY text fields."""
        return self.conn.info.encoding

    def _ensure_temp(self) -> None:
        if self._temp_ready:
            return
        self.conn.execute("set synchronous_commit = off")
        self.conn.execute(
            f"create temp table if not exists {_TEMP} (subuser text not null, "
            "parent_key text not null, record_key text not null, record_hash text not null, "
            "record jsonb not null) on commit delete rows"
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
    rejected: int = 0
    #: Records dropped for another of the same key in their batch (content differing).
    duplicates: int = 0
    #: Units whose deletions :meth:`finish_snapshot` held (:mod:`sendgrid_elt.snapshot_guard`).
    held: list[Held] = field(default_factory=list)

    @property
    def table(self) -> str:
        """Qualified table name."""
        return f'"{STAGING_SCHEMA}"."{self.spec.name}"'

    def write_unit(
        self,
        subuser: str,
        pages: Iterable[Page],
        *,
        prev_cursor: dict[str, Any] | None = None,
        checkpoint: bool = False,
        settled_before: int | None = None,
        intact: Callable[[], bool] | None = None,
        backfill_from: Any = None,
    ) -> UnitResult:
        """Load every row of one unit in bounded batches, each committed with its cursor.

        Args:
            subuser: The unit's ``sync_state`` subuser (``''`` for the parent account).
            pages: ``(rows, rejects)`` of each API page (consumed lazily). Cursor values are
                parsed and bounded already (``None``: not a cursor candidate).
            prev_cursor: Cursor stored before this run (``{"value": ...}``), validated.
            checkpoint: Commit the running maximum cursor with every batch (incremental
                streams whose rows arrive in cursor order; ignored once they do not).
            settled_before: Epoch cursors up to this second are closed (the API's clock less
                :attr:`~sendgrid_elt.catalog.Cursor.settle`): the unit's final cursor is saved
                ``settled``, and the next run starts after it. Mid-unit checkpoints never are.
            intact: Asked with each batch: ``False`` once part of the unit was not read (a
                parent id failed). The rows are committed, the cursor stays where it was.
            backfill_from: A backfill's start cursor value: the running maximum, and so each
                checkpoint, starts there, not at ``prev_cursor`` (a checkpoint then says how
                far the backfill got, for its next try to resume from).

        Returns:
            Records and batches written and the final cursor (committed with the last batch).
        """
        loader = self.loader
        result = UnitResult()
        prev = best = (prev_cursor or {}).get("value")
        if backfill_from is not None:
            best = backfill_from
        # A mid-unit checkpoint needs the rows in rising cursor order: seen in order so far
        # and risen at least once (a first batch of equal values says nothing about the order
        # of a list that could be newest first: its checkpoint would skip the older rows).
        ordered, rising, last_cv = True, False, None
        prepare = partial(prepare_batch, prev=prev, versioned=self.spec.versioned,
                          incremental=self.spec.mode == "incremental")  # fmt: skip
        for batch in prefetched_batches(pages, loader.batch_size, prepare):
            if batch.cursors is not None:
                top, first, last, in_order = batch.cursors
                ordered = ordered and in_order and (last_cv is None or last_cv <= first)
                rising = rising or first < last or (last_cv is not None and last_cv < first)
                last_cv, best = last, top if best is None or top > best else best
            cursor = {"value": best} if best is not None else None
            whole = intact is None or intact()  # asked once per batch
            complete = batch.last and whole
            if complete:
                cursor = _settled(cursor, settled_before, self.spec.cursor)
            save = complete or (checkpoint and ordered and rising and cursor is not None)
            save = save and whole
            commit = partial(self._commit, batch, subuser, cursor if save else None,
                             complete, result.records)  # fmt: skip
            try:
                written = commit(direct=bool(batch.fresh))
            except _DirectRefused:  # rolled back: the whole batch again, every row merged
                written = commit(direct=False)
            result.records += written
            result.batches += 1
            self.duplicates += batch.duplicates
            result.cursor = cursor if save else result.cursor
        self.records += result.records
        return result

    def keep_rejects(self, rejects: list[Reject]) -> None:
        """Save rejects that arrived with no batch (a unit not read: see ``reject_unit``)."""
        loader = self.loader
        with loader.conn.transaction():
            save_rejects(loader.conn, loader.tenant_id, self.spec.name, loader.run_id, rejects)

    # ----- one batch ----------------------------------------------------------------------
    def _commit(
        self,
        batch: Batch,
        subuser: str,
        cursor: dict[str, Any] | None,
        complete: bool,
        before: int,
        *,
        direct: bool,
    ) -> int:
        """One transaction: the batch's rows, its rejects and (when given) its cursor.

        ``direct``: the fresh rows are ``COPY``-ed straight into the stream table as the
        transaction's first statement; a key that exists after all (or a value PostgreSQL
        refuses) rolls the transaction back and raises :class:`_DirectRefused`.
        """
        loader, conn = self.loader, self.loader.conn
        with conn.transaction():
            written = self._write(batch, direct=direct)
            save_rejects(conn, loader.tenant_id, self.spec.name, loader.run_id, batch.rejects)
            if cursor is not None or complete:
                sync_state.save_cursor(
                    conn, loader.tenant_id, self.spec.name, subuser, cursor, loader.run_id,
                    complete=complete, rows=before + written if complete else None,
                )  # fmt: skip
        return written

    def _write(self, batch: Batch, *, direct: bool) -> int:
        """Write a batch (what PostgreSQL refuses is split out into ``batch.rejects``)."""
        rejects, written = batch.rejects, 0
        if self.spec.versioned:
            return self._guarded(batch.known, rejects, self._merge_versions) if batch.known else 0
        known = batch.known
        if direct:
            try:
                self._copy_direct(batch.fresh)
            except (psycopg.errors.UniqueViolation, *_REFUSALS) as exc:
                # a key existed after all (stored by an earlier batch), or a refusal to isolate
                raise _DirectRefused from exc
            written += len(batch.fresh)
        elif batch.fresh:
            known = sorted(batch.fresh + known, key=KEY_ORDER)  # disjoint: one row a key
        if known:
            written += self._guarded(known, rejects, self._upsert)
        return written

    def _guarded(self, rows: list[Row], rejects: list[Reject], write: Any) -> int:
        """``write(rows)`` under a savepoint; refused rows are isolated by halving the batch."""
        try:
            with self.loader.conn.transaction():
                write(rows)
            return len(rows)
        except _REFUSALS as exc:
            if len(rows) == 1:
                sub, parent, key, data, _, _ = rows[0]
                reason = f"PostgreSQL refused the record: {exc.sqlstate} {_first_line(exc)}"
                raw = storable(data.decode("utf-8", "backslashreplace"))
                rejects.append(Reject(sub, parent, key, reason, raw))
                self.rejected += 1
                return 0
            half = len(rows) // 2
            return self._guarded(rows[:half], rejects, write) + self._guarded(
                rows[half:], rejects, write
            )

    def _copy(self, columns: str, into: str, rows: list[Row], head: bytes, tail: bytes) -> None:
        encoding = self.loader.encoding
        fields = columns.count(",") + 1
        with self.loader.conn.cursor().copy(
            f"copy {into} ({columns}) from stdin (format binary)"
        ) as cp:
            for buf in framed_rows(rows, fields, head, tail, encoding):
                cp.write(buf)

    def _copy_direct(self, rows: list[Row]) -> None:
        loader, seen = self.loader, self.seen_at
        enc = loader.encoding
        head = text_field(loader.tenant_id, enc)
        tail = timestamptz_field(seen) * 3 + text_field(loader.run_id, enc)  # seen x3, run
        self._copy(DIRECT_COLUMNS, self.table, rows, head, tail)

    def _copy_temp(self, rows: list[Row]) -> None:
        # DELETE, not TRUNCATE: a TRUNCATE makes a new file each time (milliseconds per unit);
        # the table is empty but after a split batch (commits empty it: on commit delete rows)
        self.loader.conn.execute(f"delete from {_TEMP}")  # noqa: S608
        self._copy(_KEY, _TEMP, rows, b"", b"")

    def _params(self) -> dict[str, Any]:
        return {"t": self.loader.tenant_id, "seen": self.seen_at, "run": self.loader.run_id}

    def _upsert(self, rows: list[Row]) -> None:
        self._copy_temp(rows)
        self.loader.conn.execute(
            f"insert into {self.table} as t ({DIRECT_COLUMNS}) "  # noqa: S608
            f"select %(t)s, {_KEY}, %(seen)s, %(seen)s, now(), %(run)s from {_TEMP} "
            "on conflict (tenant_id, subuser, parent_key, record_key) do update set "
            "record = excluded.record, record_hash = excluded.record_hash, "
            "first_seen_at = case when t.record_hash = excluded.record_hash "
            "then t.first_seen_at else excluded.first_seen_at end, "
            "last_seen_at = excluded.last_seen_at, "
            "extracted_at = excluded.extracted_at, run_id = excluded.run_id",
            self._params(),
        )

    def _merge_versions(self, rows: list[Row]) -> None:
        self._copy_temp(rows)
        conn = self.loader.conn
        conn.execute(
            f"update {self.table} t set is_current = false from {_TEMP} b "  # noqa: S608
            "where t.tenant_id = %(t)s and t.subuser = b.subuser "
            "and t.parent_key = b.parent_key and t.record_key = b.record_key "
            "and t.is_current and t.record_hash <> b.record_hash",
            self._params(),
        )
        conn.execute(
            f"insert into {self.table} as t ({DIRECT_COLUMNS}) "  # noqa: S608
            f"select %(t)s, {_KEY}, %(seen)s, %(seen)s, now(), %(run)s from {_TEMP} "
            "on conflict (tenant_id, subuser, parent_key, record_key, record_hash) "
            "do update set last_seen_at = excluded.last_seen_at, "
            "extracted_at = excluded.extracted_at, run_id = excluded.run_id, "
            "is_current = true, deleted_at = null",
            self._params(),
        )

    def finish_snapshot(
        self, *, excluded_subusers: Iterable[str] = (), listed: Collection[str] = (),
        kept: Collection[tuple[str, str]] = (), column: str | None = None,
    ) -> int:  # fmt: skip
        """Mark current keys this complete snapshot did not see as deleted.

        Call only when every unit of the stream completed, except ``excluded_subusers`` (units
        that failed, were skipped or were not read: their rows are left alone) and the parent
        ids of ``kept`` (``(unit, id)`` not read: the rows whose ``column`` holds the id are
        left alone, :func:`~sendgrid_elt.snapshot_guard.finish`). A key whose
        record was read but rejected this run stays current (it exists in SendGrid). A unit
        that would lose most of its keys at once is held instead (:attr:`held`, see
        :mod:`sendgrid_elt.snapshot_guard`), unless it is a subuser no longer ``listed``.

        Returns:
            Keys newly marked deleted.
        """
        if not self.spec.versioned:
            return 0
        conn = self.loader.conn
        with conn.transaction():
            params = {**self._params(), "stream": self.spec.name}
            deleted, self.held = snapshot_guard.finish(
                conn, self.table, params, excluded_subusers, listed, kept, column
            )
        return deleted


def _settled(
    cursor: dict[str, Any] | None, settled_before: int | None, spec_cursor: Any
) -> dict | None:
    """The final cursor of a complete unit, marked ``settled`` when its second is closed.

    ``settled`` holds the settle time it was closed under, so a longer one set later (a
    catalog change) reads the cursor's look-back again once instead of trusting it.
    """
    value = (cursor or {}).get("value")
    if settled_before is None or not isinstance(value, int) or value > settled_before:
        return cursor
    return {**cursor, "settled": spec_cursor.settle}


def _first_line(exc: BaseException) -> str:
    return shorten((str(exc).splitlines() or [""])[0], 300)
