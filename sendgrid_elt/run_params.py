"""The extract DAG's params (``streams``, ``start_date``): parsed and checked once per run."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sendgrid_elt import catalog

#: No SendGrid account holds data from before SendGrid began (2009): an earlier ``start_date``
#: is a typo that would page through years of empty windows.
EARLIEST_START_DATE = dt.date(2009, 1, 1)


def check_params(params: dict[str, Any] | None, as_of: dt.datetime | None) -> None:
    """Refuse a bad ``streams`` or ``start_date`` param once, before any tenant runs.

    A ``start_date`` after the run's as-of (its UTC day) would be stored as every incremental
    cursor, and the next run would read each stream's whole history; one before 2009 is a typo.

    Raises:
        AirflowFailException: The param and what is wrong (no retry: a retry reads the same
            params).
    """
    from airflow.sdk.exceptions import AirflowFailException

    params = params or {}
    try:
        catalog.select(params.get("streams") or None)
    except KeyError as exc:
        raise AirflowFailException(f"param streams: {exc.args[0]}") from None
    try:
        start = parse_start_date(params.get("start_date"))
    except ValueError:
        raise AirflowFailException(
            f"param start_date: {params.get('start_date')!r} is not a YYYY-MM-DD date"
        ) from None
    last = as_of.astimezone(dt.UTC).date() if as_of is not None else None
    if start is not None and last is not None and start > last:
        raise AirflowFailException(
            f"param start_date: {start} is after the run's as-of ({last}); a backfill starts "
            "on a day the run can read"
        )
    if start is not None and start < EARLIEST_START_DATE:
        raise AirflowFailException(
            f"param start_date: {start} is before {EARLIEST_START_DATE}, when SendGrid began"
        )


def parse_start_date(value: Any) -> dt.date | None:
    """The ``start_date`` param (``YYYY-MM-DD``, empty = use state)."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
