"""A path fan-out's requests share their endpoint's rate limit.

SendGrid limits an endpoint (``GET /v3/api_keys/{api_key_id}``), not each id's URL, and the
simulator counts the same way. The hook paces the fan-out from the limit the responses report,
so the read stays under it instead of learning each window from a 429.
"""

from __future__ import annotations

import dataclasses

from sendgrid_elt import catalog

from .conftest import extractor, staged_keys

LIMIT = 3  # requests per second to GET /v3/api_keys/{api_key_id}


def test_a_path_fan_out_is_paced_by_its_endpoints_limit(sim, acme, pg) -> None:
    before = sim.control.rate_limit()
    sim.control.set_rate_limit(f"{before},/v3/api_keys/{{api_key_id}}={LIMIT}/1s")
    try:
        ex = extractor(acme, pg)
        keys = dataclasses.replace(catalog.get("api_keys"), per_subuser=False)
        assert ex.run_stream(keys).status == "ok"
        n = len(staged_keys(pg, "acme", "api_keys"))
        assert n > 2 * LIMIT  # the fan-out outlasts two windows
        refused = acme.transport.status_counts.get(429, 0)
        scopes = dataclasses.replace(catalog.get("api_key_scopes"), per_subuser=False)
        outcome = ex.run_stream(scopes)
    finally:
        sim.control.set_rate_limit(before)
    assert outcome.status == "ok"
    assert len(staged_keys(pg, "acme", "api_key_scopes")) == n
    assert acme.transport.status_counts.get(429, 0) == refused  # never a 429
    assert acme.transport.limiter.waited > 0  # paced instead
