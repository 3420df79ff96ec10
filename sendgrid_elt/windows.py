"""What part of a stream a run asks for: the cursor window or the date windows of a unit.

Also what a cursor may be: a value parsed as the stream's kind (:func:`parse_cursor`), a stored
cursor that is usable (:func:`usable_cursor`), and how far a run may move it
(:func:`cursor_limits`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any

from sendgrid_elt.catalog import CLOCK_SKEW_SECONDS

if TYPE_CHECKING:
    from sendgrid_elt.catalog import CursorKind, StreamSpec

_EPOCH = dt.date(1970, 1, 1)
#: An epoch cursor given as text: ASCII digits, at most 19 (``int()`` would also take ``²``).
_EPOCH_TEXT = re.compile("-?[0-9]{1,19}")


#: The settle time of a cursor saved ``"settled": true`` by a version that closed every list's
#: cursor after 5 minutes (spam reports now take two days: such a cursor is read back once).
LEGACY_SETTLE_SECONDS = 300


def _closed_under(settled: Any) -> int:
    """Seconds of the settle time a stored cursor was closed under (0: not closed)."""
    if settled is True:
        return LEGACY_SETTLE_SECONDS
    return settled if isinstance(settled, int) and not isinstance(settled, bool) else 0


def request_windows(
    spec: StreamSpec,
    value: Any,
    *,
    start_date: dt.date | None,
    today: dt.date,
    settled: bool | int = False,
) -> list[dict[str, Any]]:
    """Request parameters of each window of one unit (one request sequence per window).

    Args:
        spec: The stream.
        value: The unit's stored cursor value, already parsed (``None``: no usable cursor).
        start_date: Backfill from this day (wins over the cursor).
        today: The API's current date.
        settled: The settle time (seconds) under which the stored cursor's second was closed
            when it was saved (see :attr:`sendgrid_elt.catalog.Cursor.settle`; ``True``: an
            older version's, :data:`LEGACY_SETTLE_SECONDS`): when it is at least the stream's,
            start one second after it.

    Returns:
        Incremental streams: one window from ``cursor - settle`` (inclusive; ``cursor + 1``
        when settled; everything without a cursor). Date-window streams: from the cursor
        minus the look-back (or the first day of the month ``initial_months`` back), one
        window per month for monthly endpoints. Other streams: one empty window.
    """
    if spec.mode == "incremental" and spec.cursor is not None:
        if start_date is not None:
            return [{spec.cursor.start_param: (start_date - _EPOCH).days * 86400}]
        if value is not None:
            closed = _closed_under(settled)
            start = value + 1 if closed >= spec.cursor.settle else value - spec.cursor.settle
            start = max(0, start)
            return [{spec.cursor.start_param: start}]
        return [{}]
    if spec.mode != "date_window" or spec.window is None:
        return [{}]
    w = spec.window
    if start_date is not None:
        start = start_date
    elif value:
        start = dt.date.fromisoformat(value) - dt.timedelta(days=w.lookback_days)
    else:
        start = first_of_month(today, -w.initial_months)
    start = min(start, today)
    extra = dict(w.extra_params)
    if not w.monthly:
        return [{**extra, w.start_param: start.isoformat()}]
    months, month = [], start.replace(day=1)
    while month <= today:
        months.append({**extra, w.start_param: month.isoformat()})
        month = first_of_month(month, 1)
    return months


def first_of_month(day: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` away from ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def floor_cursor(spec: StreamSpec, start_date: dt.date | None) -> dict:
    """A backfill's start, the cursor of a unit that had no record since (``{}``: none).

    Without it a unit with nothing after ``start_date`` would keep no cursor, and the next run
    would read its whole history.
    """
    kind = spec.cursor_field
    if start_date is None or kind is None:
        return {}
    if kind[1] == "date":
        return {"value": start_date.isoformat()}
    return {"value": int(dt.datetime.combine(start_date, dt.time(), dt.UTC).timestamp())}


def settled_before(spec: StreamSpec, now: dt.datetime | None) -> int | None:
    """Epoch cursors up to this second are closed by the API's clock ``now`` (``None``: unknown).

    See :attr:`sendgrid_elt.catalog.Cursor.settle`.
    """
    cursor = spec.cursor
    if spec.mode != "incremental" or cursor is None or cursor.kind != "epoch" or now is None:
        return None
    return int(now.timestamp()) - cursor.settle


def cursor_limits(
    spec: StreamSpec, now: dt.datetime | None, today: dt.date
) -> tuple[int | str | None, int | None]:
    """How far ``spec``'s cursor may move this run: its bound and, for epochs, the API's clock.

    A value beyond the bound (the API's clock plus ``CLOCK_SKEW_SECONDS``; for stats days the
    API's day and one more for time zones) is no cursor candidate; an epoch between the clock
    and the bound counts as the clock (see :class:`sendgrid_elt.records.Shaper`).

    Args:
        spec: The stream.
        now: The API's clock (the hook's ``Date`` header), else the end of ``today``.
        today: The API's current date.
    """
    cursor = spec.cursor_field
    if cursor is None:
        return None, None
    if cursor[1] == "date":  # a Date header at the calendar's end must not overflow
        return (today + dt.timedelta(days=1) if today < dt.date.max else today).isoformat(), None
    clock = int((now or dt.datetime.combine(today, dt.time.max, dt.UTC)).timestamp())
    return clock + CLOCK_SKEW_SECONDS, clock


def parse_cursor(value: Any, kind: CursorKind) -> int | str | None:
    """Parse a cursor value as ``kind``; ``None`` when it does not parse.

    ``epoch``: an integer (or an integral float, or a string of digits) → ``int``.
    ``date``: ``YYYY-MM-DD`` → the same ISO string (ISO days compare as strings).
    """
    if kind == "epoch":
        if type(value) is int:
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _EPOCH_TEXT.fullmatch(text := value.strip()):
            return int(text)
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    return None


def usable_cursor(
    stored: Any, kind: CursorKind | None, bound: int | str | None
) -> tuple[dict, str | None]:
    """A unit's stored cursor parsed as its stream's ``kind``, or ``{}`` and why it was ignored.

    A cursor that is not a JSON object, whose value does not parse as ``kind``, or lies beyond
    ``bound`` (state written before that check existed) is ignored: the unit is read from the
    start, which the idempotent merge absorbs. A stream without a cursor kind keeps an object
    as it is (and ignores anything else without a word: it reads no cursor).

    Returns:
        ``(cursor, why)``: ``why`` is ``None`` unless a stored cursor was ignored.
    """
    if not isinstance(stored, dict):
        noted = stored is not None and kind is not None
        return {}, (f"not a JSON object: {str(stored)[:40]!r}" if noted else None)
    if kind is None or stored.get("value") is None:
        return dict(stored), None
    value = parse_cursor(stored["value"], kind)
    if value is None or (bound is not None and value > bound):
        why = "unparseable" if value is None else "beyond the API's clock"
        return {}, f"{why}: {str(stored['value'])[:40]!r}"
    return {**stored, "value": value}, None
