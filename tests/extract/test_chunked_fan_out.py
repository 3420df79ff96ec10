"""One id of a chunked fan-out refused: the chunk's other ids and the later chunks still load.

Real hook, HTTP simulator and PostgreSQL. ``subuser_stats`` asks for its subusers in chunks
(``?subusers=a&subusers=b``); here two a chunk, so three subusers make two chunks. Before, one
refused id ended the unit: no later chunk was read, and a 403 on the first chunk read as
``not_licensed`` (a false "plan lacks subusers").
"""

from __future__ import annotations

from typing import Any

import pytest

from sendgrid_elt.extract import TenantExtractor
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import extractor, stats_subusers, statuses, subuser_names


def _subusers(pg: Any, acme: Any) -> list[str]:
    names = subuser_names(pg, acme)
    assert len(names) == 3, names  # chunks of two: [names[0], names[1]], [names[2]]
    return names


def test_a_subuser_gone_since_the_list_is_named_deleted(sim, acme, pg, two_a_chunk) -> None:
    """A subuser renamed after ``/v3/subusers`` was read (its old name deleted): its chunk
    answers SendGrid's ``400 No user found``, split down to that name. The chunk's other
    subuser and the later chunk load; the stream ends ``ok`` naming the old name as deleted
    (no problem). Before, the simulator answered an invented ``subuser ... does not exist``
    that read as a failed id: ``error`` every run."""
    names = _subusers(pg, acme)
    tenant = sim.accounts["tenants"][0]["tenant_id"]
    sim.control.rename_subuser(tenant, names[0], f"{names[0]}-renamed")
    outcomes = TenantExtractor(acme, pg, "acme", "r1").run(["subuser_stats"])
    assert (outcomes["subuser_stats"].status, outcomes["subuser_stats"].skipped) == ("ok", {})
    assert stats_subusers(pg) == {names[1], names[2]}
    assert statuses(pg, "acme")["subuser_stats"] == "ok"
    detail = statuses(pg, "acme", "detail")["subuser_stats"]
    assert f"{names[0]} (400; the subuser is deleted now, not a problem)" in detail, detail
    assert names[1] not in detail
    assert names[2] not in detail


@pytest.mark.parametrize(("status", "why"), [(403, "403"), (451, "451: data in another region")])
def test_one_refused_id_of_a_chunk_is_not_a_missing_licence(
    sim, acme, pg, hostile, two_a_chunk, status, why
) -> None:
    """A 403 (or a 451, an EU subuser read through the global host) for one subuser of the
    first chunk is SendGrid's answer about that subuser: the others load, the stream is ok
    and names it as refused, never ``not_licensed``."""
    names = _subusers(pg, acme)
    hostile(paths=["/v3/subusers/stats"], answer_status=status, answer_message="refused",
            query_value=names[0])  # fmt: skip
    outcome = extractor(acme, pg).run_stream(two_a_chunk)
    assert outcome.status == "ok", outcome
    assert f"parent ids refused, rows kept: {names[0]} ({why}" in outcome.detail
    assert stats_subusers(pg) == {names[1], names[2]}


def test_a_chunk_refused_for_every_id_is_the_units_answer(sim, acme, pg, hostile, two_a_chunk):
    """Every id of the first chunk refused alone too, and the subuser list refused as well
    (the plan lost subusers): that is SendGrid's answer about the unit, given after one
    chunk's split and one look at the list, not after splitting every chunk id by id
    (thousands of refused requests for a tenant with many ids). While the list still reads,
    the refusals are about the ids (tests/extract/test_chunk_refusals.py)."""
    _subusers(pg, acme)
    hostile(paths=["/v3/subusers"], answer_status=403, answer_message="forbidden")
    before = acme.request_count
    outcome = extractor(acme, pg).run_stream(two_a_chunk)
    assert outcome.status == "not_licensed", outcome
    assert acme.request_count - before == 4  # the chunk, each of its two ids, the list


def _enabled(pg: Any) -> list[str]:
    return sorted(r[0] for r in pg.execute(
        f"select record->>'username' from \"{STAGING_SCHEMA}\".subusers "  # noqa: S608
        "where tenant_id = 'acme' and is_current and deleted_at is null "
        "and coalesce((record->>'disabled')::boolean, false) = false"))  # fmt: skip


@pytest.mark.parametrize(("status", "why"), [(403, "403"), (451, "451: data in another region")])
def test_a_refused_subuser_of_a_chunk_is_a_health_problem(
    sim, acme, pg, hostile, two_a_chunk, status, why
) -> None:
    """A subuser that still exists, refused inside a chunk (split down to it), is missing from
    the tenant's totals like a refused per-subuser unit: the outcome's ``skipped`` names it,
    so the tenant gets a ``skipped_units`` problem (one alert). Before, it was only named in
    ``stream_status.detail``: the stream ``ok``, the tenant ``connected``, nobody told."""
    from sendgrid_elt.connection_health import stream_problems

    names = _subusers(pg, acme)
    refused = _enabled(pg)[0]
    hostile(paths=["/v3/subusers/stats"], answer_status=status, answer_message="refused",
            query_value=refused)  # fmt: skip
    outcome = extractor(acme, pg).run_stream(two_a_chunk)
    assert outcome.status == "ok", outcome
    assert list(outcome.skipped) == [refused], outcome
    assert outcome.skipped[refused].startswith(why)
    problem = stream_problems({two_a_chunk.name: outcome})[two_a_chunk.name]
    assert (problem["kind"], problem["subusers"]) == ("skipped_units", [refused])
    assert stats_subusers(pg) == set(names) - {refused}


def test_a_refused_id_of_a_chunk_whose_subuser_is_disabled_is_only_named(
    sim, acme, pg, hostile, two_a_chunk
) -> None:
    """A disabled subuser refused (403) in a chunk is no problem (asked once): only named."""
    names = _subusers(pg, acme)
    disabled = sorted(set(names) - set(_enabled(pg)))
    assert disabled, names
    hostile(paths=["/v3/subusers/stats"], answer_status=403, answer_message="refused",
            query_value=disabled[0])  # fmt: skip
    outcome = extractor(acme, pg).run_stream(two_a_chunk)
    assert (outcome.status, outcome.skipped) == ("ok", {}), outcome
    assert f"{disabled[0]} (403; the subuser is disabled now, not a problem)" in outcome.detail
