"""Refusals in a path fan-out are about ids unless the parent list refuses too.

Real hook, HTTP simulator and PostgreSQL. A path fan-out reads one request per id of its
parent list, with the same scope and plan feature as the list: ``subuser_credits``
(``/v3/subusers/{name}/credits`` after ``/v3/subusers``), ``api_key_scopes``
(``/v3/api_keys/{id}`` after ``/v3/api_keys``), ``template_versions`` (``/v3/templates/{id}``
after ``/v3/templates``). A plan without a feature answers 403 on every endpoint of it, its
list included; SendGrid answers an unknown subuser ``400 No user found`` and an unknown API key
404 (the OpenAPI spec). So when no id of a unit reads while the list still does, the refusals
are about the ids (named; a subuser that still exists skipped, a health problem) and the ids
the list no longer holds were deleted (named, no problem). Before, a tenant whose subusers'
credits were all refused read ``not_licensed`` ("plan lacks subusers", a false plan fact in
the marts), every key refused read ``missing_scope``, and a unit whose every id was deleted
was skipped as a whole (a false "parent" health problem).
"""

from __future__ import annotations

from typing import Any

from sendgrid_elt import catalog
from sendgrid_elt.health_problems import stream_problems

from .conftest import current_keys, extractor, spy_paths, subuser_names, subuser_rows


def _leave_one_enabled_subuser(sim: Any, pg: Any, acme: Any) -> str:
    """Delete every subuser of acme but one enabled one; the list read again: its name."""
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    subuser_names(pg, acme)
    rows = sorted(subuser_rows(pg).values(), key=lambda r: r["id"])
    keep = next(r for r in rows if not r.get("disabled"))
    for i in reversed([i for i, r in enumerate(rows) if r is not keep]):
        sim.control.delete_row(tenant_id, "subusers", index=i)
    subuser_names(pg, acme)
    assert list(subuser_rows(pg)) == [keep["username"]]
    return keep["username"]


def test_the_only_subuser_s_credits_refused_is_no_missing_licence(sim, acme, pg, hostile):
    """A tenant whose one subuser gets a 403 on its credits while ``/v3/subusers`` reads: the
    subuser is skipped and named (a ``skipped_units`` problem: its credits are missing), the
    plan's subusers are not called unlicensed. Before: ``not_licensed``."""
    only = _leave_one_enabled_subuser(sim, pg, acme)
    hostile(paths=["/v3/subusers/"], answer_status=403, answer_message="access forbidden")
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("subuser_credits"))
    assert outcome.status == "ok", outcome
    assert list(outcome.skipped) == [only], outcome
    assert f"parent ids refused, rows kept: {only} (403)" in outcome.detail
    problem = stream_problems({"subuser_credits": outcome})["subuser_credits"]
    assert (problem["kind"], problem["subusers"]) == ("skipped_units", [only])


def test_every_subuser_s_credits_refused_names_each(sim, acme, pg, hostile) -> None:
    """Every subuser's credits refused (403) while the list reads: each is named, the enabled
    ones skipped (their credits missing), a disabled one only named; never ``not_licensed``."""
    names = subuser_names(pg, acme)
    enabled = {n for n, r in subuser_rows(pg).items() if not r.get("disabled")}
    assert enabled, names
    assert enabled != set(names), names
    hostile(paths=["/v3/subusers/"], answer_status=403, answer_message="access forbidden")
    outcome = extractor(acme, pg).run_stream(catalog.get("subuser_credits"))
    assert outcome.status == "ok", outcome
    assert set(outcome.skipped) == enabled, outcome
    for name in set(names) - enabled:
        assert f"{name} (403; the subuser is disabled now, not a problem)" in outcome.detail


def test_the_subuser_list_refused_too_is_the_plan_s_answer(sim, acme, pg, hostile, monkeypatch):
    """Every subuser's credits refused and ``/v3/subusers`` refused as well (the plan lost
    subusers since the list was read): that is the plan's answer, ``not_licensed``, found with
    one more request to the list."""
    subuser_names(pg, acme)
    hostile(paths=["/v3/subusers"], answer_status=403, answer_message="access forbidden")
    ex = extractor(acme, pg)
    paths = spy_paths(monkeypatch, acme)
    outcome = ex.run_stream(catalog.get("subuser_credits"))
    assert outcome.status == "not_licensed", outcome
    assert paths.count("/v3/subusers") == 1, paths


def test_the_only_subuser_deleted_is_named_not_a_problem(sim, acme, pg) -> None:
    """A tenant whose one subuser is deleted between the list and the credits read (SendGrid's
    ``400 No user found``): the stream is ``ok``, names it as deleted, raises no health
    problem, and marks its credits deleted. Before: the parent unit "skipped" as a whole, a
    false problem about the parent account, the subuser named nowhere."""
    only = _leave_one_enabled_subuser(sim, pg, acme)
    spec = catalog.get("subuser_credits")
    assert extractor(acme, pg, run="r2").run_stream(spec).status == "ok"
    assert current_keys(pg, "subuser_credits") == {f"{only}/{only}": False}
    sim.control.delete_row(sim.accounts["tenants"][0]["tenant_id"], "subusers", index=0)
    outcome = extractor(acme, pg, run="r3").run_stream(spec)
    assert (outcome.status, outcome.skipped) == ("ok", {}), outcome
    assert f"parent ids deleted since the list was read (1): {only}" in outcome.detail
    assert stream_problems({spec.name: outcome}) == {}
    assert current_keys(pg, "subuser_credits") == {f"{only}/{only}": True}


def test_one_subuser_deleted_and_the_other_refused(sim, acme, pg, hostile) -> None:
    """No subuser's credits read: one deleted since the list (``No user found``), the other
    refused (403). The list reads and no longer holds the deleted one: each is named for what
    it is, the refused one skipped; the stream ``ok``, not ``not_licensed``."""
    tenant = sim.accounts["tenants"][0]
    sim.control.delete_row(tenant["tenant_id"], "subusers", index=0)
    subuser_names(pg, acme)
    names = sorted(subuser_rows(pg))
    left = tenant["subusers"][1:]  # the simulator's order, after the deletion
    gone, refused = names
    sim.control.delete_row(tenant["tenant_id"], "subusers", index=left.index(gone))
    hostile(paths=[f"/v3/subusers/{refused}/credits"], answer_status=403,
            answer_message="access forbidden")  # fmt: skip
    outcome = extractor(acme, pg).run_stream(catalog.get("subuser_credits"))
    assert outcome.status == "ok", outcome
    assert f"parent ids deleted since the list was read (1): {gone}" in outcome.detail
    assert f"parent ids refused, rows kept: {refused} (403" in outcome.detail
    assert gone not in outcome.skipped


def _parent_keys(pg: Any, acme: Any) -> dict[str, bool]:
    ex = extractor(acme, pg, run="r0")
    for name in ("subusers", "api_keys", "api_key_scopes"):
        assert ex.run_stream(catalog.get(name)).status == "ok", name
    keys = {k: v for k, v in current_keys(pg, "api_key_scopes").items() if k.startswith("/")}
    assert keys
    assert not any(keys.values()), keys
    return keys


def test_every_key_refused_while_the_key_list_reads_is_no_missing_scope(
    sim, acme, pg, hostile
) -> None:
    """Every ``/v3/api_keys/{id}`` refused (403) while ``/v3/api_keys``, read with the same
    scope, still answers: the refusals are about the keys (named, rows kept), not a missing
    ``api_keys.read`` scope. Before: ``missing_scope`` for the whole stream."""
    before = _parent_keys(pg, acme)
    hostile(paths=["/v3/api_keys/"], answer_status=403, answer_message="access forbidden")
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("api_key_scopes"))
    assert outcome.status == "ok", outcome
    first = sorted(before)[0].split("/", 1)[1]
    assert f"parent ids refused, rows kept: {first} (403)" in outcome.detail, outcome.detail
    after = current_keys(pg, "api_key_scopes")
    assert {k: after[k] for k in before} == before  # kept, none marked deleted


def test_the_key_list_refused_too_is_a_missing_scope(sim, acme, pg, hostile, monkeypatch):
    """Every key refused and ``/v3/api_keys`` refused as well: the credential lost the scope
    (``missing_scope``, as before), found with one more request to the list."""
    _parent_keys(pg, acme)
    hostile(paths=["/v3/api_keys"], answer_status=403, answer_message="access forbidden")
    ex = extractor(acme, pg, run="r2")
    paths = spy_paths(monkeypatch, acme)
    outcome = ex.run_stream(catalog.get("api_key_scopes"))
    assert outcome.status == "missing_scope", outcome
    assert paths.count("/v3/api_keys") == 1, paths


def test_every_key_deleted_since_the_list_is_named_not_a_problem(sim, acme, pg) -> None:
    """Every API key of the parent deleted between the key list and the scopes read (404): the
    keys are named as deleted with their count and marked deleted, no health problem. Before:
    the parent's unit skipped as a whole, a false "parent" problem, the keys named nowhere."""
    before = _parent_keys(pg, acme)
    assert len(before) < 10, before  # a smaller deletion is applied at once (snapshot guard)
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    for _ in before:
        sim.control.delete_row(tenant_id, "api_keys", index=0)
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("api_key_scopes"))
    assert (outcome.status, outcome.skipped) == ("ok", {}), outcome
    assert f"parent ids deleted since the list was read ({len(before)}): " in outcome.detail
    assert stream_problems({"api_key_scopes": outcome}) == {}
    after = current_keys(pg, "api_key_scopes")
    assert {k: after[k] for k in before} == dict.fromkeys(before, True)


def test_every_template_of_a_subuser_refused_while_its_list_reads(sim, acme, pg, hostile):
    """Every template of one subuser refused (403) while its ``/v3/templates`` (same scope,
    on its behalf) reads: the templates are named refused, their rows kept, a ``refused_ids``
    problem (their versions are missing); the subuser is not skipped as if SendGrid refused
    it. Before: the subuser "skipped" (a problem about the wrong thing)."""
    ex = extractor(acme, pg)
    for name in ("subusers", "templates", "template_versions"):
        assert ex.run_stream(catalog.get(name)).status == "ok"
    versions = current_keys(pg, "template_versions")
    sub = next(k.split("/")[0] for k in sorted(versions) if not k.startswith("/"))
    hostile(paths=["/v3/templates/"], answer_status=403, answer_message="access forbidden",
            on_behalf_of=sub)  # fmt: skip
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("template_versions"))
    assert (outcome.status, outcome.skipped) == ("ok", {}), outcome
    assert "parent ids refused, rows kept: " in outcome.detail
    problem = stream_problems({"template_versions": outcome})["template_versions"]
    assert (problem["kind"], problem["ids"]) == ("refused_ids", sorted(outcome.refused))
    assert outcome.refused
    kept = current_keys(pg, "template_versions", sub)
    assert kept
    assert not any(kept.values())
