"""Arithmetic the tests recompute marts with (the same rules as the SQL)."""

from __future__ import annotations

import datetime as dt


def months_back(month: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months before ``month``."""
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def percentile_cont(values: list[int], q: float) -> float:
    """PostgreSQL ``percentile_cont`` (linear interpolation between the sorted values)."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
