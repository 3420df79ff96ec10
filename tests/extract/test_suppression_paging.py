"""A suppression row deleted while the extractor pages through its list loses no other row.

With plain ``limit``/``offset`` paging, deleting row 3 after page 1 moves every later row up
one place: the row at the next page's boundary is never read, and the stream's cursor (the
largest ``created`` read) moves past it for good. The suppression streams page over a
narrowing ``created`` window instead (``created_window``): every row present for the whole
read is staged, and a rerun after a day still matches the simulator's list.
"""

from __future__ import annotations

import dataclasses

import pytest

from sendgrid_elt import catalog

from .conftest import extractor, staged_keys

PAGE = 50


@pytest.mark.parametrize("stream", ["blocks", "invalid_emails"])
def test_a_row_deleted_mid_read_loses_no_other_row(sim, acme, pg, stream: str) -> None:
    spec = dataclasses.replace(catalog.get(stream), page_size=PAGE, per_subuser=False)
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    count = sim.control.truth()["tenants"][0]["streams"][stream]["count"]
    assert count > 3 * PAGE  # several pages to read
    deleted = sim.control.delete_suppression(tenant_id, stream, index=3, after_requests=1)

    outcome = extractor(acme, pg, "r1").run_stream(spec)

    truth = sim.control.truth()["tenants"][0]["streams"][stream]["primary_keys"]
    assert deleted not in truth
    assert len(truth) == count - 1
    staged = staged_keys(pg, "acme", stream)
    assert sorted(set(staged) - {deleted}) == sorted(truth)  # with offsets, row 50 is missing
    assert outcome.status == "ok"
    assert outcome.records == count  # the deleted row too: it was read before it went

    sim.control.advance(days=1)
    extractor(acme, pg, "r2").run_stream(spec)
    truth = sim.control.truth()["tenants"][0]["streams"][stream]["primary_keys"]
    assert sorted(set(staged_keys(pg, "acme", stream)) - {deleted}) == sorted(truth)
