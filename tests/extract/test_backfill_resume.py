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

from .conftest import extractor, sim_today


def test_a_backfills_next_try_resumes_from_what_the_last_one_saved(sim, acme, pg) -> None:
    spec = dataclasses.replace(catalog.get("bounces"), per_subuser=False, page_size=50)
    start = sim_today(sim) - dt.timedelta(days=120)
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


def test_a_backfill_stopped_midway_saves_how_far_it_got(sim, acme, pg) -> None:
    """A backfill of a unit whose cursor is already at today stops after a few pages (here:
    the hook's page cap; in production the try's time budget): its checkpoint says how far
    the backfill got, so the next try resumes there. Before, the checkpoint started from the
    stored cursor and saved today's, and the retry skipped the rest of the range."""
    spec = dataclasses.replace(catalog.get("blocks"), per_subuser=False, page_size=20)
    assert extractor(acme, pg, "daily").run_stream(spec).status == "ok"
    today_cursor = sync_state.load_cursor(pg, "acme", "blocks", "")["value"]
    start = sim_today(sim) - dt.timedelta(days=300)
    cap, acme.max_pages = acme.max_pages, 2  # the try stops midway
    try:
        stopped = extractor(acme, pg, "backfill_3", start_date=start, batch_size=10).run_stream(
            spec
        )
    finally:
        acme.max_pages = cap
    assert stopped.status == "error"
    saved = sync_state.load_cursor(pg, "acme", "blocks", "")["value"]
    start_epoch = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())
    assert start_epoch <= saved < today_cursor
