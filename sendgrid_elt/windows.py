"""What part of a stream a run asks for: the cursor window or the date windows of a unit."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sendgrid_elt.catalog import StreamSpec

_EPOCH = dt.date(1970, 1, 1)


def request_windows(
    spec: StreamSpec, value: Any, *, start_date: dt.date | None, today: dt.date
) -> list[dict[str, Any]]:
    """Request parameters of each window of one unit (one request sequence per window).

    Args:
        spec: The stream.
        value: The unit's stored cursor value, already parsed (``None``: no usable cursor).
        start_date: Backfill from this day (wins over the cursor).
        today: The API's current date.

    Returns:
        Incremental streams: one window from ``cursor - overlap`` (inclusive; everything
        without a cursor). Date-window streams: from the cursor minus the look-back (or the
        first day of the month ``initial_months`` back), one window per month for monthly
        endpoints. Other streams: one empty window.
    """
    if spec.mode == "incremental" and spec.cursor is not None:
        if start_date is not None:
            return [{spec.cursor.start_param: (start_date - _EPOCH).days * 86400}]
        if value is not None:
            return [{spec.cursor.start_param: max(0, value - spec.cursor.overlap)}]
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
