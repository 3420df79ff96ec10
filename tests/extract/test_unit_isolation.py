"""One unit's or one parent's failed read never stops the rest of its stream.

Real hook, HTTP simulator (its hostile switches answer one subuser's or one parent id's reads
with a persistent 500) and PostgreSQL. The failed part keeps its rows and its cursor, the
stream ends in ``error`` naming it (the task fails and is retried), every other part loads.
"""

from __future__ import annotations

from typing import Any

from sendgrid_elt import catalog, sync_state
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import current_keys, extractor, subuser_names


def _subusers(pg: Any, acme: Any) -> list[str]:
    names = subuser_names(pg, acme)
    assert len(names) >= 2, names
    return names


def _seen_a_day_earlier(pg: Any, stream: str) -> None:
    """Age acme's rows of ``stream``: a snapshot that did not see them would mark them deleted."""
    pg.execute(f'update "{STAGING_SCHEMA}"."{stream}" set last_seen_at = '  # noqa: S608
               "last_seen_at - interval '1 day' where tenant_id = 'acme'")  # fmt: skip


def test_one_subuser_s_failed_read_does_not_stop_the_next(sim, acme, pg, hostile) -> None:
    """The first subuser's bounces answer 500 on every retry: the subusers after it are still
    read and their cursors move; its own cursor stays unset; the stream ends in ``error``
    naming it (before, the loop stopped at it, run after run, and no later subuser was read)."""
    names = _subusers(pg, acme)
    hostile(paths=["/v3/suppression/bounces"], answer_status=500,
            answer_message="internal error", on_behalf_of=names[0])  # fmt: skip
    outcome = extractor(acme, pg).run_stream(catalog.get("bounces"))
    assert outcome.status == "error", outcome
    assert f"units failed, rows kept, cursor kept: {names[0]} (" in outcome.detail
    cursors = {u: sync_state.load_cursor(pg, "acme", "bounces", u) for u in ["", *names]}
    assert cursors[names[0]] == {}
    assert all(cursors[u] for u in ["", *names[1:]]), cursors


def test_one_parent_id_s_failed_read_does_not_stop_the_others(sim, acme, pg, hostile) -> None:
    """One template's versions answer 500: the templates after it are read, nothing of the
    unit is marked deleted (its snapshot is incomplete), the stream names the template."""
    ex = extractor(acme, pg)
    for name in ("subusers", "templates", "template_versions"):
        assert ex.run_stream(catalog.get(name)).status == "ok"
    before = current_keys(pg, "template_versions", "")
    ids = sorted({r[0] for r in pg.execute(
        f'select record->>\'id\' from "{STAGING_SCHEMA}".templates '  # noqa: S608
        "where tenant_id = 'acme' and subuser = '' and is_current")})  # fmt: skip
    assert len(ids) >= 2, ids
    _seen_a_day_earlier(pg, "template_versions")
    hostile(paths=[f"/v3/templates/{ids[0]}"], answer_status=500, answer_message="internal")
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("template_versions"))
    assert outcome.status == "error", outcome
    assert f"parent (parent ids failed: {ids[0]} (" in outcome.detail
    assert current_keys(pg, "template_versions", "") == before  # none marked deleted
    fresh = {r[0] for r in pg.execute(
        f'select record->>\'template_id\' from "{STAGING_SCHEMA}".template_versions '  # noqa: S608
        "where tenant_id = 'acme' and subuser = '' and run_id = 'r2'")}  # fmt: skip
    assert fresh, "the other templates' versions were read again"
    assert ids[0] not in fresh


def test_a_404_after_the_first_page_is_a_failed_read_not_a_missing_licence(
    acme, pg, monkeypatch
) -> None:
    """A 404 on a later page (an expired page token, a list changing under the read) says
    nothing about the plan: the stream fails this run instead of reading as ``not_licensed``."""
    from sendgrid_hook import errors

    def read(*args: Any, **kwargs: Any) -> Any:
        yield [{"id": "s1", "name": "first page", "status": "draft"}]
        raise errors.SendGridNotFoundError("GET /v3/marketing/singlesends: 404 page not found",
                                           status_code=404)  # fmt: skip

    monkeypatch.setattr(acme, "iter_record_pages", read)
    outcome = extractor(acme, pg).run_stream(catalog.get("singlesends"))
    assert outcome.status == "error", outcome
    assert "SendGridNotFoundError" in outcome.detail


def test_a_subuser_s_failed_credits_read_keeps_its_row(sim, acme, pg, hostile) -> None:
    """``subuser_credits`` reads every subuser in the parent's unit and labels each row with
    the subuser: one subuser's failed read must not mark that subuser's credits deleted."""
    names = _subusers(pg, acme)
    ex = extractor(acme, pg)
    assert ex.run_stream(catalog.get("subuser_credits")).status == "ok"
    before = current_keys(pg, "subuser_credits")
    assert any(k.startswith(f"{names[0]}/") for k in before), before
    _seen_a_day_earlier(pg, "subuser_credits")
    hostile(paths=[f"/v3/subusers/{names[0]}/credits"], answer_status=500, answer_message="x")
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("subuser_credits"))
    assert outcome.status == "error", outcome
    assert f"parent ids failed: {names[0]} (" in outcome.detail
    assert current_keys(pg, "subuser_credits") == before  # none marked deleted


def test_a_parent_id_refused_on_its_first_page_is_skipped_not_failed(
    sim, acme, pg, hostile
) -> None:
    """A 403 on one template's versions is SendGrid's answer about that template: the stream
    loads the others and stays ok, that template's rows are kept (not a failure every run)."""
    ex = extractor(acme, pg)
    for name in ("subusers", "templates", "template_versions"):
        assert ex.run_stream(catalog.get(name)).status == "ok"
    before = current_keys(pg, "template_versions", "")
    _seen_a_day_earlier(pg, "template_versions")
    template = sorted({r[0] for r in pg.execute(
        f'select record->>\'template_id\' from "{STAGING_SCHEMA}".template_versions '  # noqa: S608
        "where tenant_id = 'acme' and subuser = ''")})[0]  # fmt: skip
    hostile(paths=[f"/v3/templates/{template}"], answer_status=403, answer_message="forbidden")
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("template_versions"))
    assert outcome.status == "ok", outcome
    assert f"parent ids refused, rows kept: {template} (403)" in outcome.detail
    assert current_keys(pg, "template_versions", "") == before


def test_an_outage_stops_trying_units_after_three_fail_in_a_row(sim, acme, pg, hostile) -> None:
    """Every unit's bounces answer 500: three units use their retries, the others wait for the
    next run instead of each costing a full retry cycle; their cursors are untouched."""
    names = _subusers(pg, acme)
    assert len(names) >= 3, names  # four units: the parent and three subusers
    hostile(paths=["/v3/suppression/bounces"], answer_status=500, answer_message="down")
    outcome = extractor(acme, pg).run_stream(catalog.get("bounces"))
    assert outcome.status == "error", outcome
    assert f"1 units not read after 3 failed in a row: {names[2]}" in outcome.detail
    attempts = 9  # max_retries 8 in these connections
    assert outcome.requests == 3 * attempts, outcome
    assert all(sync_state.load_cursor(pg, "acme", "bounces", u) == {} for u in ["", *names])
