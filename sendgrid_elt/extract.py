"""Extract every catalog stream of one tenant through the SendGrid hook into the staging schema.

:class:`TenantExtractor` interprets :mod:`sendgrid_elt.catalog`: it turns a spec into requests
(units per subuser, fan-out per parent id, date windows, cursors), shapes the records into
staging rows and hands them to :class:`sendgrid_elt.loader.StagingLoader` as a lazy stream.
Outcomes per stream (``ok``, ``missing_scope``, ``not_licensed``, ``error``; also written to
``stream_status``) are :mod:`sendgrid_elt.stream_outcome`'s.

One unit (subuser) or parent id whose read fails fails only itself: its rows and cursor are
kept, the snapshot deletes nothing of it, and the stream ends in ``error`` naming it while the
other units load (after :data:`FAILED_UNITS_IN_A_ROW` failures in a row the rest wait for the
next run). A refused subuser (403/404/451) is skipped, rows kept; one that still exists stays in
the outcome's ``skipped`` (:mod:`~.subuser_roster`). A parent id refused on its first page is
skipped, rows kept (``refused``, a health problem); one deleted since its list was read is
named, its rows marked deleted (:mod:`~.unit_reads`). A complete read that would delete most of
a unit's keys is held (:mod:`~.snapshot_guard`). A subuser name no index entry can hold (over
:data:`~sendgrid_elt.rejects.KEY_LIMIT` bytes), or any parent id stored repaired (U+FFFD for a
NUL), is never sent: one reject names it, its rows kept (:mod:`~.repaired_ids`).

:class:`~sendgrid_hook.errors.ReconnectRequired` stops the tenant, unless ``/v3/scopes``, asked
again, still accepts the credential or cannot answer: then the stream ends in ``error`` like any
other failed read (:func:`~.stream_outcome.endpoint_refused`). Cursors are parsed as the
stream's cursor kind and bounded by the API's clock (``Date`` header) plus
:data:`~sendgrid_elt.catalog.CLOCK_SKEW_SECONDS`; a stored cursor that is not a JSON object,
does not parse or lies beyond that bound is ignored and the stream re-read from the start,
which the idempotent merge absorbs (:mod:`~.unit_cursors`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import psycopg
from sendgrid_hook import errors
from sendgrid_hook.display import PrintableLog, shorten
from sendgrid_hook.redaction import scrub

from sendgrid_elt import catalog, stream_scopes, sync_state
from sendgrid_elt.loader import DEFAULT_BATCH_SIZE, Progress, StagingLoader
from sendgrid_elt.records import Page, Shaper
from sendgrid_elt.rejects import unfaithful, unusable_unit
from sendgrid_elt.repaired_ids import faithful, reject_unsent, unsent_detail, unsent_ids
from sendgrid_elt.settings import STAGING_SCHEMA
from sendgrid_elt.stream_outcome import (
    TENANT_ERRORS,
    AllParentsGone,
    Skip,
    StreamOutcome,
    StreamsFailed,
    endpoint_refused,
    errored,
    failure,
    licence_skip,
    refusal,
    units_detail,
)
from sendgrid_elt.subuser_roster import SubuserRoster, refused_ids
from sendgrid_elt.unit_cursors import UnitCursors
from sendgrid_elt.unit_parts import left_alone, refused_parents
from sendgrid_elt.unit_reads import Part, plan_requests, read_pages
from sendgrid_elt.windows import cursor_limits, floor_cursor, settled_before

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec
    from sendgrid_elt.unit_parts import LeftAlone

log = logging.getLogger(__name__)


class _TenantLog(PrintableLog):
    """A tenant's lines, named (a batch's tenants share one task log), each text printable."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"tenant {self.extra['tenant']}: {msg}", kwargs


#: Units of one stream that may fail in a row before its other units wait for the next run.
FAILED_UNITS_IN_A_ROW = 3


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
        now: The API's clock (bounds cursors); default: the hook's ``Date`` header at
            :meth:`run`, else ``today``'s end.
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
        now: dt.datetime | None = None,
    ) -> None:
        self.hook = hook
        self.conn = conn
        self.tenant_id = tenant_id
        self.log = _TenantLog(log, {"tenant": tenant_id})
        self.run_id = run_id
        self.today = today or (now.date() if now else dt.datetime.now(dt.UTC).date())
        self.now = now
        self.loader = StagingLoader(conn, tenant_id, run_id, batch_size=batch_size)
        self.granted: frozenset[str] | None = None
        self.cursors = UnitCursors(conn, tenant_id, run_id, start_date, self.log)
        self._gone: list[str] = []  # the stream's parent ids deleted since their list was read
        self._subuser_names: list[str] | None = None
        self._ids: dict[tuple[str, str, str], list[str]] = {}  # a stream's parent ids, read once
        self.roster = SubuserRoster(hook)  # which refused subusers still exist (asked once)

    # ----- whole tenant -------------------------------------------------------------------
    def run(self, streams: list[str] | None = None) -> dict[str, StreamOutcome]:
        """Run the selected streams (all by default) in catalog order.

        Raises:
            ReconnectRequired: The credential no longer works (from the hook, untouched).
            StreamsFailed: At least one stream ended in ``error`` (after all were tried).
        """
        self.granted = self.hook.granted_scopes()
        api_time = getattr(self.hook, "api_time", None)
        self.now = (api_time() if api_time else None) or self.now
        self.today = self.now.date() if self.now else self.today
        self.cursors.load()
        outcomes: dict[str, StreamOutcome] = {}
        for spec in catalog.select(streams):
            outcome = self.run_stream(spec)
            outcomes[spec.name] = outcome
            sync_state.save_status(  # one statement: atomic in autocommit mode
                self.conn, self.tenant_id, spec.name, outcome.status, self.run_id,
                detail=outcome.detail, records=outcome.records, requests=outcome.requests,
                seconds=outcome.seconds, rejected=outcome.rejected, repaired=outcome.repaired,
            )  # fmt: skip
        failed = sorted(n for n, o in outcomes.items() if o.status == "error")
        if failed:
            raise StreamsFailed(
                f"tenant {self.tenant_id}: streams failed: {', '.join(failed)}", outcomes
            )
        return outcomes

    # ----- one stream ---------------------------------------------------------------------
    def run_stream(self, spec: StreamSpec) -> StreamOutcome:
        """Extract and load one stream; never raises except for ``ReconnectRequired``.

        Any other exception fails this stream only: ``error`` with its type and (scrubbed)
        message in ``detail``; what was committed before it stays.
        """
        start, requests_before = time.monotonic(), self.hook.request_count
        outcome = StreamOutcome(spec.name, "ok")
        shaper = Shaper(spec)  # bounded inside the guard: a wild API clock fails this stream
        self._subuser_names = None if spec.name == "subusers" else self._subuser_names
        try:
            shaper = Shaper(
                spec, *cursor_limits(spec, self.now, self.today), secrets=self.hook.secret_forms
            )
            granted = self.granted
            skip = stream_scopes.scope_status(spec, granted) if granted is not None else None
            if skip is not None:
                raise Skip(*skip)
            outcome.records, outcome.detail = self._load(spec, shaper, outcome)
        except Skip as skip:
            outcome.status, outcome.detail = skip.status, skip.detail
        except errors.ReconnectRequired as exc:
            why = endpoint_refused(self.hook, exc)
            if why is None:
                raise
            outcome.status, outcome.detail = "error", shorten(scrub(why), 500)
            self.log.warning("stream %s failed: %s", spec.name, outcome.detail)
        except errors.SendGridError as exc:
            errored(outcome, exc)
            self.log.warning("stream %s failed: %s", spec.name, outcome.detail)
        except Exception as exc:  # a bug or a surprise must not take the other streams down
            errored(outcome, exc)
            self.log.exception("stream %s failed unexpectedly: %s", spec.name, outcome.detail)
        stats = shaper.stats
        outcome.rejected += stats.rejected
        outcome.repaired = stats.repaired
        summary = stats.summary()
        if outcome.rejected > stats.rejected:
            extra = f"{outcome.rejected - stats.rejected} records refused by PostgreSQL (rejects)"
            summary = f"{summary}; {extra}" if summary else extra
        if summary:
            outcome.detail = f"{outcome.detail}; {summary}" if outcome.detail else summary
            self.log.warning("stream %s: %s", spec.name, summary)
        outcome.seconds = time.monotonic() - start
        outcome.requests = self.hook.request_count - requests_before
        if outcome.status != "ok":
            self.log.info("stream %s: %s (%s)", spec.name, outcome.status, outcome.detail)
        return outcome

    def _load(
        self, spec: StreamSpec, shaper: Shaper, outcome: StreamOutcome
    ) -> tuple[int, str | None]:
        """Load every unit; one unit's failed read never stops the next (see ``failed``).

        After :data:`FAILED_UNITS_IN_A_ROW` units in a row failed, the others are not tried
        this run (an outage would cost each its retries). A warehouse error fails the stream.
        """
        writer = self.loader.stream(spec)
        progress = Progress(spec.name, tenant=self.tenant_id)
        pages0 = self.hook.request_count
        skipped: dict[str, str] = {}  # unit -> why SendGrid refused it (rows kept)
        failed: dict[str, str] = {}  # unit -> why its read failed (rows kept, cursor kept)
        partial: dict[str, list[Part]] = {}  # unit -> its parent ids not read
        unread: list[str] = []  # units not tried after too many failures in a row
        ignored: list[str] = []
        self._gone, self._ids = [], {}
        units = self._units(spec)
        unusable = {u: why for u in units if (why := unusable_unit(u))}
        if spec.fan_out is not None and spec.fan_out.parent == "subusers":  # never sent altered
            unusable |= {n: why for n in self._listed_subusers() if (why := unfaithful(n))}
        if unusable:
            units = [u for u in units if u not in unusable]
            writer.keep_rejects([shaper.reject_unit(u, why) for u, why in unusable.items()])
            for unit, why in unusable.items():  # one reject per stream; the others load
                self.log.warning("stream %s: subuser %s not read (%s)", spec.name, unit, why)
        unsent = unsent_ids(spec, units, self._parent_ids)  # never sent: one reject each
        reject_unsent(spec, unsent, shaper, writer, self.log)
        in_a_row = 0
        try:
            for unit in units:
                if in_a_row >= FAILED_UNITS_IN_A_ROW:
                    unread.append(unit)
                    continue
                parts = partial.setdefault(unit, [])
                self._load_unit(spec, shaper, writer, unit, parts, skipped, failed, ignored,
                                progress, pages0)  # fmt: skip
                if any(not p.refused for p in parts) and unit not in failed:
                    failed[unit] = "parent ids failed: " + shorten("; ".join(
                        f"{p.pid} ({p.why})" for p in parts if not p.refused), 300)  # fmt: skip
                if unit in failed:
                    self.log.warning("stream %s: %s failed, next unit: %s", spec.name,
                                unit or "parent", failed[unit])  # fmt: skip
                in_a_row = in_a_row + 1 if unit in failed else 0
        finally:
            outcome.rejected = writer.rejected
            shaper.stats.duplicates += writer.duplicates  # a key twice in one read: detail
        partial = {u: parts for u, parts in partial.items() if parts}
        deleted = 0
        if spec.versioned:
            alone = left_alone(spec, partial, unsent)  # a deleted id of a partial unit is deleted
            deleted = self._finish(spec, writer, units, [*skipped, *failed, *alone.units,
                                   *unread, *unusable], partial, alone)  # fmt: skip
        outcome.held = {h.unit: h.text() for h in writer.held}  # most keys gone: next run
        progress.done(writer.records, self.hook.request_count - pages0)
        ids = refused_ids(spec, partial)  # subusers refused as a fan-out's ids: skipped too
        outcome.skipped = self.roster.counted(skipped) | self.roster.counted(ids)  # gone: named
        outcome.refused = refused_parents(spec, partial)  # keys, templates: a health problem
        if failed or unread:
            outcome.status = "error"
        refused = [f"{p.pid} ({ids.get(p.pid, p.why)})" for ps in partial.values() for p in ps
                   if p.refused]  # fmt: skip
        detail = units_detail(failed, unread, refused, skipped, ignored, list(unusable),
                              deleted=deleted, in_a_row=FAILED_UNITS_IN_A_ROW,
                              held=outcome.held.values(), gone=self._gone)  # fmt: skip
        return writer.records, "; ".join(filter(None, [detail, unsent_detail(unsent)])) or None

    def _load_unit(
        self, spec: StreamSpec, shaper: Shaper, writer: Any, unit: str, parts: list[Part],
        skipped: dict[str, str], failed: dict[str, str], ignored: list[str],
        progress: Progress, pages0: int,
    ) -> None:  # fmt: skip
        """Load one unit; a refusal goes to ``skipped``, a failed read to ``failed``."""
        read = [0]  # the unit's pages: a refusal after the first is a failed read
        try:
            cursor = self.cursors.stored(spec, unit, shaper.bound, ignored)
            start = self.cursors.start_for(spec, unit)
            floor = floor_cursor(spec, start)
            rows = self._rows(spec, unit, cursor, shaper, parts, start)
            writer.write_unit(
                unit,
                self._progress_rows(rows, progress, writer, pages0, read),
                prev_cursor=cursor or floor,
                backfill_from=floor.get("value"),
                checkpoint=spec.mode == "incremental",
                settled_before=settled_before(spec, self.now),
                intact=lambda: not parts,
            )
        except errors.SendGridFatalError as exc:
            why = refusal(exc) if not read[0] else None
            if why is None or (unit == "" and exc.status_code not in (403, 404)):
                failed[unit] = failure(exc)
            elif unit == "":
                raise licence_skip(spec, exc) from None
            else:
                skipped[unit] = why
                self.log.info("stream %s: subuser %s skipped (%s)", spec.name, unit, why)
        except AllParentsGone as gone:
            skipped[unit] = str(gone)
            self.log.info("stream %s: %s: %s", spec.name, unit or "parent", gone)
        except (*TENANT_ERRORS, psycopg.Error):
            raise  # the tenant's credential or budget, or the warehouse: not this unit's
        except Exception as exc:  # the unit's read failed: the next unit still runs
            failed[unit] = failure(exc)

    def _finish(
        self, spec: StreamSpec, writer: Any, units: list[str], out: list[str],
        partial: dict[str, list[Part]], alone: LeftAlone,
    ) -> int:  # fmt: skip
        """Mark the snapshot's unseen keys deleted, leaving alone every part not fully read.

        ``out``: units not (fully) read; ``alone``: the parent ids whose rows alone are left
        alone (:mod:`~.unit_parts`). A stream whose rows are labelled with the parent id
        (``as_subuser``: a subuser's credits read in the parent's unit) leaves alone the
        parent ids not read, and nothing at all when its one unit was not read.
        """
        labelled = spec.fan_out is not None and spec.fan_out.as_subuser
        if labelled and "" in out and "" not in partial:
            return 0
        kept = [*out, *self._left_out(spec, units)]
        if labelled:
            kept += [p.pid for parts in partial.values() for p in parts]
        listed = self._listed_subusers() if spec.per_subuser or labelled else []
        return writer.finish_snapshot(excluded_subusers=kept, listed=listed, kept=alone.ids,
                                      column=alone.column)  # fmt: skip

    def _progress_rows(
        self, pages: Iterator[Page], progress: Progress, writer: Any, pages0: int, read: list[int]
    ) -> Iterator[Page]:
        n = 0
        for page in pages:
            n += len(page[0])
            read[0] += 1
            progress.tick(writer.records + n, self.hook.request_count - pages0)
            yield page

    # ----- units, requests, rows ----------------------------------------------------------
    def _units(self, spec: StreamSpec) -> list[str]:
        if not spec.per_subuser:
            return [""]
        return ["", *self._subusers()]

    def _left_out(self, spec: StreamSpec, units: list[str]) -> list[str]:
        """Current subusers the connection's ``subusers`` filter left out of ``spec``'s units.

        Their rows are not part of this snapshot: a narrower filter must not mark them deleted.
        """
        if not spec.per_subuser or getattr(self.hook, "subusers_filter", "all") == "all":
            return []
        read = set(units)
        return [n for n in self._listed_subusers() if n not in read]

    def _listed_subusers(self) -> list[str]:
        """Every current subuser of the tenant (read again after the subusers stream loads)."""
        if self._subuser_names is None:
            self._subuser_names = self._parent_ids(catalog.get("subusers"), "username", "")
        return self._subuser_names

    def _subusers(self) -> list[str]:
        flt = getattr(self.hook, "subusers_filter", "all")
        if flt == "none":
            return []
        names = self._listed_subusers()
        if isinstance(flt, list | tuple):
            names = [n for n in names if n in set(flt)]
        return names

    def _parent_ids(self, parent: StreamSpec, field: str, subuser: str) -> list[str]:
        """Ids of ``parent``'s current rows (once per stream: repaired ids, then the plan)."""
        key = (parent.name, field, subuser)
        if key in self._ids:
            return self._ids[key]
        rows = self.conn.execute(
            f'select distinct record->>%s from "{STAGING_SCHEMA}"."{parent.name}" '  # noqa: S608
            "where tenant_id = %s and subuser = %s and is_current and deleted_at is null "
            "and record->>%s is not null order by 1",
            (field, self.tenant_id, subuser, field),
        ).fetchall()
        self._ids[key] = [r[0] for r in rows]
        return self._ids[key]

    def _fan_ids(self, parent: StreamSpec, field: str, subuser: str) -> list[str]:
        """A fan-out's parent ids, but none stored repaired (:func:`~.repaired_ids.faithful`)."""
        return faithful(self._parent_ids(parent, field, subuser), parent, field)

    def _rows(
        self, spec: StreamSpec, unit: str, cursor: dict, shaper: Shaper, parts: list[Part],
        start: dt.date | None,
    ) -> Iterator[Page]:  # fmt: skip
        """Plan the unit's requests now (parent ids come from the database), fetch lazily.

        The returned generator may run in the loader's prefetch thread: it only does HTTP and
        shaping. Parent ids whose read failed are appended to ``parts``.
        """
        plan = list(plan_requests(spec, unit, cursor, self._fan_ids,
                                  start_date=start, today=self.today))  # fmt: skip
        return read_pages(self.hook, spec, unit, plan, shaper, parts, self._gone)
