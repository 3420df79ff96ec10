"""Refusals in a chunked fan-out are about ids unless the parent list refuses too.

Real hook, HTTP simulator and PostgreSQL. ``subuser_stats`` asks ``/v3/subusers/stats`` for its
subusers in chunks of ids (``?subusers=a&subusers=b``); a refused chunk is read again in halves.
SendGrid documents no error for that endpoint; for an unknown subuser its subuser endpoints
answer ``400 No user found`` (``/v3/subusers/{subuser_name}/credits``), and a plan without a
feature answers 403 on every endpoint of the feature, its list (``/v3/subusers``) included.
So when every id is refused alone while the list still reads, the refusals are about the ids
(deleted, disabled or refused subusers), never "the plan lacks subusers": before, such a
tenant read ``not_licensed`` (its subusers counted inactive in the marts).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sendgrid_elt import catalog
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import (
    extractor,
    spy_paths,
    stats_subusers,
    subuser_names,
    subuser_rows,
    subuser_rows_after,
)


def _rows(pg: Any) -> list[tuple]:
    return pg.execute(
        f'select subuser, record_key, record from "{STAGING_SCHEMA}".subuser_stats '  # noqa: S608
        "where tenant_id = 'acme' and is_current and deleted_at is null order by 1, 2"
    ).fetchall()


@pytest.mark.parametrize("status", [403, 404])
def test_every_subuser_refused_alone_is_no_missing_licence(sim, acme, pg, hostile, status):
    """Every subuser refused, one by one, while ``/v3/subusers`` still answers: each refusal
    is named (the enabled ones skipped: their stats are missing, a health problem), nothing
    says the plan lacks subusers. Before: ``not_licensed``, the refusals forgotten."""
    names = subuser_names(pg, acme)
    enabled = {n for n, r in subuser_rows(pg).items() if not r.get("disabled")}
    assert len(names) == 3, names
    assert enabled, names
    hostile(paths=["/v3/subusers/stats"], answer_status=status, answer_message="refused")
    outcome = extractor(acme, pg).run_stream(catalog.get("subuser_stats"))
    assert outcome.status == "ok", outcome
    assert set(outcome.skipped) == enabled, outcome
    for name in names:
        assert f"{name} ({status}" in outcome.detail, outcome.detail
    assert stats_subusers(pg) == set()


def test_the_only_subuser_deleted_since_the_list_is_no_missing_licence(sim, acme, pg, hostile):
    """A tenant whose one subuser is deleted between the list and the stats read, SendGrid
    answering its documented ``400 No user found``: the subuser is named as deleted, no
    problem, the stream ``ok``. Before: the unit "skipped" as a whole (a false health
    problem about the parent) and nothing named the subuser."""
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    for _ in range(2):  # leave the tenant one subuser
        sim.control.delete_row(tenant_id, "subusers", index=0)
    (only,) = subuser_names(pg, acme)
    sim.control.delete_row(tenant_id, "subusers", index=0)
    hostile(paths=["/v3/subusers/stats"], answer_status=400, answer_message="No user found",
            query_value=only)  # fmt: skip
    outcome = extractor(acme, pg).run_stream(catalog.get("subuser_stats"))
    assert (outcome.status, outcome.skipped) == ("ok", {}), outcome
    assert f"{only} (400; the subuser is deleted now, not a problem)" in outcome.detail


def test_the_only_subuser_refused_is_no_missing_licence(sim, acme, pg, hostile) -> None:
    """A tenant whose one (enabled) subuser SendGrid refuses (403): the subuser is skipped and
    named, the plan's subusers are not called unlicensed."""
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    rows = sorted(subuser_rows_after(pg, acme).values(), key=lambda r: r["id"])
    keep = next(r for r in rows if not r.get("disabled"))
    for i in reversed([i for i, r in enumerate(rows) if r is not keep]):
        sim.control.delete_row(tenant_id, "subusers", index=i)
    subuser_names(pg, acme)  # read the list again: the others are gone from it
    assert list(subuser_rows(pg)) == [keep["username"]]
    hostile(paths=["/v3/subusers/stats"], answer_status=403, answer_message="access forbidden")
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("subuser_stats"))
    assert outcome.status == "ok", outcome
    assert list(outcome.skipped) == [keep["username"]], outcome
    assert f"{keep['username']} (403)" in outcome.detail


def test_the_list_refused_too_is_the_plan_s_answer(sim, acme, pg, hostile, monkeypatch):
    """Every id refused and ``/v3/subusers`` refused as well (the plan lost subusers since the
    list was read): that is the plan's answer, ``not_licensed``, found with one more request."""
    subuser_names(pg, acme)
    hostile(paths=["/v3/subusers"], answer_status=403, answer_message="access forbidden")
    ex = extractor(acme, pg)
    paths = spy_paths(monkeypatch, acme)
    outcome = ex.run_stream(catalog.get("subuser_stats"))
    assert outcome.status == "not_licensed", outcome
    assert paths.count("/v3/subusers") == 1, paths


def test_later_chunks_are_not_split_once_a_whole_chunk_was(
    sim, acme, pg, hostile, two_a_chunk, monkeypatch
) -> None:
    """A chunk whose every id was refused alone (the list still reads) tells that the endpoint
    refuses this tenant's ids: the later chunks are asked once each, their ids named refused
    with their chunk, instead of being split id by id (thousands of requests for a tenant with
    many subusers)."""
    names = subuser_names(pg, acme)
    hostile(paths=["/v3/subusers/stats"], answer_status=403, answer_message="refused")
    ex = extractor(acme, pg)
    paths = spy_paths(monkeypatch, acme)
    outcome = ex.run_stream(two_a_chunk)
    assert outcome.status == "ok", outcome
    for name in names:
        assert f"{name} (403" in outcome.detail, outcome.detail
    # the chunk, its two halves, the later chunk once; the list once (is it the plan?)
    assert paths.count("/v3/subusers/stats") == 4, paths
    assert paths.count("/v3/subusers") == 1, paths


def test_one_id_answering_404_is_named_and_logged(sim, acme, pg, hostile, caplog) -> None:
    """A 404 about one id of a chunk (a query parameter, no resource path): the id is named
    in ``detail`` and checked against the subuser list like any refused id, and one INFO
    line counts the ids not read. Before, it was dropped as "vanished" with no trace in
    ``stream_status``: an existing subuser's stats silently missing."""
    names = subuser_names(pg, acme)
    enabled = sorted(n for n, r in subuser_rows(pg).items() if not r.get("disabled"))
    hostile(paths=["/v3/subusers/stats"], answer_status=404, answer_message="not found",
            query_value=enabled[0])  # fmt: skip
    with caplog.at_level(logging.INFO, logger="sendgrid_elt.unit_reads"):
        outcome = extractor(acme, pg).run_stream(catalog.get("subuser_stats"))
    assert outcome.status == "ok", outcome
    assert f"parent ids refused, rows kept: {enabled[0]} (404)" in outcome.detail
    assert list(outcome.skipped) == [enabled[0]], outcome
    assert stats_subusers(pg) == set(names) - {enabled[0]}
    counted = [r for r in caplog.records if r.levelno == logging.INFO
               and "1 of 3 parent ids not read" in r.getMessage()]  # fmt: skip
    assert counted, [r.getMessage() for r in caplog.records]


def test_one_id_answering_another_400_is_an_error_the_user_sees(sim, acme, pg, hostile):
    """A 400 about one id that is not SendGrid's ``No user found`` (a malformed or invalid
    parameter) is no deletion: the stream ends in ``error`` naming the id and the 400's
    message, and every other id loads."""
    names = subuser_names(pg, acme)
    hostile(paths=["/v3/subusers/stats"], answer_status=400,
            answer_message="invalid subuser name", query_value=names[1])  # fmt: skip
    outcome = extractor(acme, pg).run_stream(catalog.get("subuser_stats"))
    assert outcome.status == "error", outcome
    assert f"parent ids failed: {names[1]} (SendGridFatalError" in outcome.detail
    assert "invalid subuser name" in outcome.detail
    assert stats_subusers(pg) == set(names) - {names[1]}


def test_a_rerun_after_a_refused_id_converges(sim, acme, pg, hostile) -> None:
    """One id refused in run 1 (the others load); run 2, the refusal gone, holds exactly the
    rows of a run that never saw the refusal, and a third run changes nothing."""
    names = subuser_names(pg, acme)
    spec = catalog.get("subuser_stats")
    assert extractor(acme, pg, run="clean").run_stream(spec).status == "ok"
    clean = _rows(pg)
    pg.execute(f'delete from "{STAGING_SCHEMA}".subuser_stats')  # noqa: S608
    pg.execute(f"delete from \"{STAGING_SCHEMA}\".sync_state where stream = 'subuser_stats'")  # noqa: S608
    hostile(paths=["/v3/subusers/stats"], answer_status=403, answer_message="refused",
            query_value=names[0])  # fmt: skip
    first = extractor(acme, pg, run="r1").run_stream(spec)
    assert first.status == "ok", first
    assert stats_subusers(pg) == set(names) - {names[0]}
    hostile()
    assert extractor(acme, pg, run="r2").run_stream(spec).status == "ok"
    assert _rows(pg) == clean
    assert extractor(acme, pg, run="r3").run_stream(spec).status == "ok"
    assert _rows(pg) == clean


def test_a_chunk_of_one_failed_and_one_refused_id_is_an_error(sim, acme, pg, hostile) -> None:
    """A chunk whose ids all went unread, one failed (a 400 that is no ``No user found``), one
    refused (deleted since the list: ``400 No user found``): the failure is an error naming its
    id, the refusal is named, and nothing says the plan lacks subusers. Before, the last id's
    refusal read as the unit's answer: ``not_licensed``, the failure forgotten."""
    tenant = sim.accounts["tenants"][0]
    sim.control.delete_row(tenant["tenant_id"], "subusers", index=0)  # two subusers left
    subuser_names(pg, acme)
    first, second = sorted(subuser_rows(pg))
    left = tenant["subusers"][1:]  # the simulator's order, after the deletion
    sim.control.delete_row(tenant["tenant_id"], "subusers", index=left.index(second))
    hostile(paths=["/v3/subusers/stats"], answer_status=400,
            answer_message="invalid subuser name", query_value=first)  # fmt: skip
    outcome = extractor(acme, pg).run_stream(catalog.get("subuser_stats"))
    assert outcome.status == "error", outcome
    assert f"parent ids failed: {first} (SendGridFatalError" in outcome.detail
    assert f"parent ids refused, rows kept: {second} (400; the subuser is deleted" in (
        outcome.detail
    )
    assert stats_subusers(pg) == set()


def test_a_list_that_cannot_answer_leaves_the_refusals_unknown(sim, acme, pg, hostile, monkeypatch):
    """Every id refused alone and the subuser list failing (a 5xx after the retries) when asked
    whether it refuses too: whose answer the refusals are is unknown, so the stream fails this
    run (``error``, retried) instead of reading as ``not_licensed``."""
    from sendgrid_hook import errors

    subuser_names(pg, acme)
    hostile(paths=["/v3/subusers/stats"], answer_status=403, answer_message="refused")
    ex = extractor(acme, pg)
    real = acme.iter_record_pages

    def list_fails(path: str, **kwargs: Any) -> Any:
        if path == "/v3/subusers" and "username" not in (kwargs.get("params") or {}):
            raise errors.SendGridRetriableError("GET /v3/subusers: 503 unavailable",
                                                status_code=503)  # fmt: skip
        return real(path, **kwargs)

    monkeypatch.setattr(acme, "iter_record_pages", list_fails)
    outcome = ex.run_stream(catalog.get("subuser_stats"))
    assert outcome.status == "error", outcome
    assert "503 unavailable" in outcome.detail


def test_a_refused_id_with_control_characters_forges_no_log_line(sim, acme, pg, hostile, caplog):
    """The lines naming a refused id (and the count line) write a subuser name's line break
    or terminal escape as its escape (:func:`~sendgrid_elt.stream_outcome.printable`)."""
    forged = "[2026-12-07 12:00:00] INFO - all fine"
    name = f"0evil\n{forged}\x1b[2J"
    tenant = sim.accounts["tenants"][0]
    sim.control.rename_subuser(tenant["tenant_id"], tenant["subusers"][0], name)
    assert name in subuser_names(pg, acme)
    hostile(paths=["/v3/subusers/stats"], answer_status=403, answer_message="refused",
            query_value=name)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="sendgrid_elt.unit_reads"):
        outcome = extractor(acme, pg).run_stream(catalog.get("subuser_stats"))
    assert outcome.status == "ok", outcome
    ours = [r.getMessage() for r in caplog.records if r.name == "sendgrid_elt.unit_reads"]
    assert any("0evil\\n[2026" in m for m in ours), ours
    for message in ours:
        assert "\x1b" not in message, message
        assert "\n" not in message, message
