"""A row deleted while the extractor pages through an offset-only snapshot list loses no other.

``/v3/teammates``, ``/v3/subusers`` and ``/v3/api_keys`` page by ``limit``/``offset`` alone. A
row deleted before the page boundary between two requests moves every later row up one place:
with plain offsets the row at the next boundary is never read, and the snapshot marks that key
deleted for a run (a subuser missing from ``/v3/subusers`` also has its streams skipped). The
``offset`` paginator overlaps its pages and reads a shifted boundary again: every other key
stays current in staging, and the next run retires the deleted one.
"""

from __future__ import annotations

import dataclasses

import pytest

from sendgrid_elt import catalog

from .conftest import extractor, staged_keys


@pytest.mark.parametrize(
    ("stream", "page", "index"),
    [("teammates", 3, 1), ("subusers", 2, 0), ("api_keys", 3, 2)],
)
def test_a_row_deleted_mid_read_leaves_every_other_key_current(
    sim, acme, pg, stream: str, page: int, index: int
) -> None:
    spec = dataclasses.replace(catalog.get(stream), page_size=page, per_subuser=False)
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    before = sim.control.truth()["tenants"][0]["streams"][stream]["primary_keys"]
    assert len(before) > page  # more than one page to read
    extractor(acme, pg, "r1").run_stream(spec)
    assert staged_keys(pg, "acme", stream) == sorted(str(k) for k in before)

    deleted = sim.control.delete_row(tenant_id, stream, index=index, after_requests=1)
    outcome = extractor(acme, pg, "r2").run_stream(spec)

    truth = sim.control.truth()["tenants"][0]["streams"][stream]["primary_keys"]
    assert deleted in before
    assert deleted not in truth
    assert len(truth) == len(before) - 1
    staged = staged_keys(pg, "acme", stream)
    # read before it went, the deleted row is still current; with offsets a survivor was not
    assert sorted(set(staged) - {str(deleted)}) == sorted(str(k) for k in truth)
    assert outcome.status == "ok"
    assert outcome.records == len(before)

    extractor(acme, pg, "r3").run_stream(spec)
    assert staged_keys(pg, "acme", stream) == sorted(str(k) for k in truth)
