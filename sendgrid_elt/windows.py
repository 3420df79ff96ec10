"""What part of a stream a run asks for: the cursor window or the date windows of a unit."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sendgrid_elt.catalog import CLOCK_SKEW_SECONDS

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec

_EPOCH = dt.date(1970, 1, 1)


def request_windows(
    spec: StreamSpec,
    value: Any,
    *,
    start_date: dt.date | None,
    today: dt.date,
    settled: bool = False,
) -> list[dict[str, Any]]:
    """Request parameters of each window of one unit (one request sequence per window).

    Args:
        spec: The stream.
        value: The unit's stored cursor value, already parsed (``None``: no usable cursor).
        start_date: Backfill from this day (wins over the cursor).
        today: The API's current date.
        settled: The stored cursor's second was closed when it was saved (see
            :attr:`sendgrid_elt.catalog.Cursor.settle`): start one second after it.

    Returns:
        Incremental streams: one window from ``cursor - overlap`` (inclusive; ``cursor + 1``
        when settled; everything without a cursor). Date-window streams: from the cursor
        minus the look-back (or the first day of the month ``initial_months`` back), one
        window per month for monthly endpoints. Other streams: one empty window.
    """
    if spec.mode == "incremental" and spec.cursor is not None:
        if start_date is not None:
            return [{spec.cursor.start_param: (start_date - _EPOCH).days * 86400}]
        if value is not None:
            start = value + 1 if settled else max(0, value - spec.cursor.overlap)
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
    if cursor[1] == "date":
        return (today + dt.timedelta(days=1)).isoformat(), None
    clock = int((now or dt.datetime.combine(today, dt.time.max, dt.UTC)).timestamp())
    return clock + CLOCK_SKEW_SECONDS, clock
