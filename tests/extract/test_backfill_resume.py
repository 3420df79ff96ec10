"""A backfill (``start_date``) that a try could not finish resumes in its next try.

Each try of a run used to read from ``start_date`` again, so a history longer than one try's
budget failed at the same point in every try. A unit whose cursor an earlier try of the same
run saved (a checkpoint committed with its rows) now resumes from it; a new run's backfill
still starts from ``start_date``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sendgrid_elt import catalog, sync_state

from .conftest import extractor


def _today(sim) -> dt.date:
    return dt.date.fromisoformat(sim.control.clock()["date"])


def test_a_backfills_next_try_resumes_from_what_the_last_one_saved(sim, acme, pg) -> None:
    spec = dataclasses.replace(catalog.get("bounces"), per_subuser=False, page_size=50)
    start = _today(sim) - dt.timedelta(days=120)
    first = extractor(acme, pg, "backfill_1", start_date=start).run_stream(spec)
    assert first.status == "ok"
    assert first.requests > 3  # months of history: several pages
    cursor = sync_state.load_cursor(pg, "acme", "bounces", "")
    # the next try of the same run (a retry, a cleared task): from the saved cursor
    retry = extractor(acme, pg, "backfill_1", start_date=start).run_stream(spec)
    assert (retry.status, retry.requests) == ("ok", 1)
    assert retry.records <= first.records // 10
    assert sync_state.load_cursor(pg, "acme", "bounces", "") == cursor
    # a new run's backfill reads from its start_date again
    again = extractor(acme, pg, "backfill_2", start_date=start).run_stream(spec)
    assert (again.requests, again.records) == (first.requests, first.records)
