"""Where one unit of a tenant's stream starts reading: its stored cursor, a backfill's start.

:class:`UnitCursors` serves :class:`~sendgrid_elt.extract.TenantExtractor`. A run reads every
stored cursor of the tenant in one query (the tenant's lock keeps others from writing them); a
stream run on its own reads its unit's cursor when it needs it. Each is parsed as its stream's
cursor kind and bounded (:func:`~sendgrid_elt.windows.usable_cursor`): one that is not a JSON
object, does not parse or lies beyond the API's clock is ignored, named, and the unit is read
from the start. A backfill starts at its start day, unless an earlier try of the same run
saved the unit's cursor: then it resumes from there.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sendgrid_elt import sync_state
from sendgrid_elt.windows import usable_cursor

if TYPE_CHECKING:
    import psycopg

    from sendgrid_elt.catalog import StreamSpec


class UnitCursors:
    """The stored cursors and the backfill start of one tenant's units.

    Args:
        conn: psycopg connection to the warehouse, autocommit mode.
        tenant_id: The connection id.
        run_id: Airflow run id (a backfill's earlier tries share it).
        start_date: Backfill from this day (``None``: from each unit's stored cursor).
        log: The tenant's logger (an ignored cursor is logged there).
    """

    def __init__(
        self, conn: psycopg.Connection, tenant_id: str, run_id: str,
        start_date: dt.date | None, log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:  # fmt: skip
        self.conn = conn
        self.tenant_id = tenant_id
        self.run_id = run_id
        self.start_date = start_date
        self.log = log
        self._stored: dict[tuple[str, str], dict] | None = None
        self._resumed: set[tuple[str, str]] | None = None

    def load(self) -> None:
        """Read every stored cursor of the tenant in one query (a run's start)."""
        self._stored = sync_state.load_cursors(self.conn, self.tenant_id)
        self._resumed = None  # read again by the first unit (:meth:`start_for`)

    def start_for(self, spec: StreamSpec, unit: str) -> dt.date | None:
        """The backfill's start day, unless an earlier try of this run saved the unit's cursor.

        A backfill's retry (or a cleared task) resumes each unit from what the failed try
        committed, instead of reading from ``start_date`` again and failing at the same point.
        """
        if self.start_date is None:
            return None
        if self._resumed is None:  # read once, before this try saves any cursor
            self._resumed = sync_state.units_saved_by(self.conn, self.tenant_id, self.run_id)
        return None if (spec.name, unit) in self._resumed else self.start_date

    def stored(
        self, spec: StreamSpec, unit: str, bound: int | str | None, ignored: list[str]
    ) -> dict:
        """The unit's stored cursor, parsed as the stream's kind (``{}`` when unusable).

        An unusable one is named in ``ignored`` (``unit (why)``) and logged.
        """
        if self._stored is not None:
            stored = self._stored.get((spec.name, unit))
        else:  # a stream run on its own
            stored = sync_state.load_cursor(self.conn, self.tenant_id, spec.name, unit)
        kind = spec.cursor_field[1] if spec.cursor_field else None
        cursor, why = usable_cursor(stored, kind, bound)
        if why is not None:
            ignored.append(f"{unit or 'parent'} ({why})")
            self.log.warning("stream %s[%s]: stored cursor ignored (%s)", spec.name, unit, why)
        return cursor
