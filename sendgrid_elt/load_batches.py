"""Batches of the staging loader: rows of pages grouped, one per key, split fresh/known, prefetched.

A producer thread reads the pages (HTTP and shaping) and prepares the next batch while
:mod:`sendgrid_elt.loader` writes the previous one; :class:`Progress` logs a stream's pace.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from queue import Full, Queue
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sendgrid_elt.records import Page, Row
    from sendgrid_elt.rejects import Reject

log = logging.getLogger("sendgrid_elt.loader")

KEY_ORDER = itemgetter(2)  # record_key: the key index of non-snapshot tables leads with it
CURSOR = itemgetter(5)


@dataclass
class Batch:
    """One batch, prepared in the producer thread while the previous one loads.

    Each key is in one list once (:func:`distinct_rows` chose its row first).

    Attributes:
        fresh: Rows with a cursor past the stored one (new keys almost always), in key order.
        known: The other rows, in key order (all rows of snapshot streams).
        rejects: Records the shaper rejected.
        cursors: ``(largest, first, last, in order)`` of the batch's cursor values, or ``None``.
        last: The unit's last batch.
        duplicates: Rows dropped because another row of the batch had their key and was kept,
            counted when their content differed from the kept row's.
    """

    fresh: list[Row]
    known: list[Row]
    rejects: list[Reject]
    cursors: tuple[Any, Any, Any, bool] | None
    last: bool = False
    duplicates: int = 0


def prepare_batch(
    rows: list[Row], rejects: list[Reject], *, prev: Any, versioned: bool, incremental: bool
) -> Batch:
    """Cursor figures and the fresh/known split of one batch (rows in API order).

    A key the batch holds twice keeps one row (:func:`distinct_rows`) *before* the split, so
    which row is stored depends on the rows alone, never on the stored cursor ``prev``.
    """
    cvs = [cv for cv in map(CURSOR, rows) if cv is not None]
    cursors = (max(cvs), cvs[0], cvs[-1], cvs == sorted(cvs)) if cvs else None
    rows, duplicates = distinct_rows(rows)
    if versioned or (prev is None and not incremental):
        return Batch([], rows, rejects, cursors, duplicates=duplicates)
    if prev is None:
        fresh, known = rows, []
    else:
        fresh, known = [], []
        for row in rows:
            (fresh if row[5] is not None and row[5] > prev else known).append(row)
    # already in key order: neighbours in the key index, fewer index pages touched
    return Batch(fresh, known, rejects, cursors, duplicates=duplicates)


def distinct_rows(rows: list[Row]) -> tuple[list[Row], int]:
    """One row per ``(subuser, parent_key, record_key)``, in key order; and the dropped count.

    Of the rows sharing a key, the one with the highest cursor value wins (a row without one,
    ``None``, ranks below any value); among equal values (or none at all) the last in API
    order wins. The count is of dropped rows whose content (``record_hash``) differs from the
    kept row's: an exact repeat loses nothing. A batch without a repeated ``record_key`` (the
    common case, told by one set's size) takes no further pass.
    """
    if len(set(map(KEY_ORDER, rows))) == len(rows):
        return sorted(rows, key=KEY_ORDER), 0
    kept: dict[tuple[str, str, str], Row] = {}
    for row in rows:
        key = (row[0], row[1], row[2])
        old = kept.get(key)
        if old is not None and old[5] is not None and (row[5] is None or row[5] < old[5]):
            continue  # an earlier row with a later cursor stays
        kept[key] = row
    differ = 0
    for row in rows:
        won = kept[(row[0], row[1], row[2])]
        differ += won is not row and won[4] != row[4]
    return sorted(kept.values(), key=KEY_ORDER), differ


def prefetched_batches(
    pages: Iterable[Page], size: int, prepare: Callable[..., Batch], prefetch: int = 1
) -> Iterator[Batch]:
    """Yield prepared batches of about ``size`` rows; the last one has ``last`` set.

    A producer thread reads ``pages`` (HTTP and shaping) and prepares each batch while the
    caller loads the previous one, so HTTP, Python and PostgreSQL work overlap; at most
    ``prefetch`` batches wait in between (bounded memory: the batch being read, the waiting
    ones and the one being written). The last batch holds the rows after the last full one
    (none when the rows end on a batch boundary, or for an empty input), so the unit's final
    cursor is always committed.
    A unit of one page is prepared in the caller's thread (no producer thread).
    """
    pages = iter(pages)
    head = list(itertools.islice(pages, 2))  # nothing to load yet: no overlap is lost
    if len(head) < 2:  # one page or none (most units): no producer thread, no hand-offs
        for rows, rejects, last in plain_batches(head, size):
            batch = prepare(rows, rejects)
            batch.last = last
            yield batch
        return
    pages = itertools.chain(head, pages)
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
            for rows, rejects, last in plain_batches(pages, size):
                batch = prepare(rows, rejects)
                batch.last = last
                if not put(batch):
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
            if item.last:
                return
    finally:
        done.set()
        thread.join(timeout=5)


def plain_batches(
    pages: Iterable[Page], size: int
) -> Iterator[tuple[list[Row], list[Reject], bool]]:
    """``(rows, rejects, last)`` of about ``size`` rows; the last one may be empty.

    A full batch is handed on at once (no lookahead batch held back to learn whether it is
    the last one): the unit's end is a final batch of the remaining rows, empty when the rows
    ended on a batch boundary, which still commits the unit's final cursor.
    """
    batch: list[Row] = []
    rejects: list[Reject] = []
    for page_rows, page_rejects in pages:
        batch += page_rows
        rejects += page_rejects
        if len(batch) >= size:
            yield batch, rejects, False
            batch, rejects = [], []
    yield batch, rejects, True


class Progress:
    """Logs stream progress: pages, records and records/s."""

    def __init__(self, stream: str, every: float = 10.0, tenant: str = "") -> None:
        self.stream = stream
        self.prefix = f"tenant {tenant}: " if tenant else ""  # a batch's tenants share a log
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
            "%sstream %s %s: pages=%d records=%d records/s=%.0f elapsed=%.1fs",
            self.prefix, self.stream, what, pages, records, records / elapsed, elapsed,
        )  # fmt: skip
