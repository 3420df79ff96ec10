"""The marts do not depend on the session TimeZone of the connection dbt builds them with.

Days are UTC days (the as-of day, a seat day, a deletion day): a warehouse, a role or a libpq
environment (``PGTZ``) set to another zone must not move them. West of UTC the session's
midnight is the previous UTC day's evening, so a ``timestamptz::date`` falls a day early (the
dashboard's test reads through Asia/Tokyo, east of UTC, which hides it).
"""

from __future__ import annotations

import pytest

from tests.transform.dbt_runner import as_of_vars, run_dbt
from tests.transform.marts_reading import AS_OF, AS_OF_DAY, MARTS, REPORTS, query, table_digest

WEST_OF_UTC = "America/New_York"


def _digests(target) -> dict[str, str]:
    return {model: table_digest(target, model) for model in MARTS + REPORTS}


def test_a_build_in_a_session_west_of_utc_gives_the_same_marts(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rebuilt with ``PGTZ=America/New_York``: one latest seat day per tenant, on the as-of
    day, the overview's seat figures known, and every mart and report as a UTC session
    builds it."""
    target, truths, _, _, work, _ = built
    utc = _digests(target)
    seats = (
        "select tenant_id, seats_used, subusers_total"
        " from sendgrid_marts.rpt_sendgrid_utilization_overview order by 1"
    )
    seats_utc = query(target, seats)
    west: dict[str, str] = {}
    try:
        monkeypatch.setenv("PGTZ", WEST_OF_UTC)  # libpq: dbt's sessions, not the reads here
        run_dbt(target, work, "run", "--full-refresh", *as_of_vars(AS_OF))
        monkeypatch.delenv("PGTZ")
        west = _digests(target)
        latest = query(
            target,
            "select tenant_id, count(*), min(seat_date), max(seat_date)"
            " from sendgrid_marts.fct_sendgrid_seat_utilization"
            " where is_latest_day group by 1 order by 1",
        )
        seats_west = query(target, seats)
    finally:
        monkeypatch.delenv("PGTZ", raising=False)
        if west != utc:  # leave `built` as the other tests expect it
            run_dbt(target, work, "run", "--full-refresh", *as_of_vars(AS_OF))
    assert latest == [(t, 1, AS_OF_DAY, AS_OF_DAY) for t in sorted(truths)]
    assert seats_west == seats_utc
    assert any(n is not None for _, n, _ in seats_west)
    assert {m for m in utc if west[m] != utc[m]} == set()
