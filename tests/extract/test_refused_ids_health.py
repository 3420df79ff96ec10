"""Parent ids refused while their list reads reach connection health; deleted ids are applied.

Real hook, HTTP simulator and PostgreSQL. ``api_key_scopes`` reads ``/v3/api_keys/{id}`` per
key of ``/v3/api_keys`` (same scope): a key refused (403) while the list reads is SendGrid's
answer about that key, its rows kept and named in the stream's detail. Before: nothing else;
a tenant with half its keys' scopes refused stayed ``connected`` (no problem kind, no alert),
and a subuser with one key deleted and another refused in the same run was left out of that
run's deletions: the deleted key's rows stayed current although SendGrid said it was gone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sendgrid_elt import catalog
from sendgrid_elt.connection_health import health_engine, read_health, record_health
from sendgrid_elt.health_problems import problem_keys, stream_problems
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import extractor

T0 = dt.datetime(2026, 11, 28, 0, 5, tzinfo=dt.UTC)
SPEC = catalog.get("api_key_scopes")
REFUSED = "refused_ids"  # the problem kind (health_problems.REFUSED), spelled as stored


def _read_keys(pg: Any, acme: Any) -> None:
    ex = extractor(acme, pg, run="r0")
    for name in ("subusers", "api_keys", "api_key_scopes"):
        assert ex.run_stream(catalog.get(name)).status == "ok", name


def _runs(pg: Any, subuser: str) -> dict[str, tuple[str, bool]]:
    """``record_key -> (run_id, deleted)`` of a unit's current ``api_key_scopes`` rows."""
    rows = pg.execute(
        f'select record_key, run_id, deleted_at is not null from "{STAGING_SCHEMA}".'  # noqa: S608
        "api_key_scopes where tenant_id = 'acme' and subuser = %s and is_current",
        (subuser,),
    ).fetchall()
    return {key: (run, deleted) for key, run, deleted in rows}


def _health(outcome: Any, minutes: int) -> Any:
    return record_health(health_engine(), tenant_id="acme", status="connected",
                         stream_problems=stream_problems({SPEC.name: outcome}),
                         covered=[SPEC.name], now=T0 + dt.timedelta(minutes=minutes))  # fmt: skip


@pytest.mark.usefixtures("airflow_home", "warehouse")
def test_half_the_keys_refused_degrades_the_tenant(sim, acme, pg, hostile) -> None:
    """Half the parent's keys refused (403) while ``/v3/api_keys`` reads: the other keys load,
    the stream is ``ok`` and names the refused ones; a ``refused_ids`` problem listing them
    makes the tenant ``degraded`` (reason ``ids_refused``, one alert, not again next run), and
    a clean run makes it ``connected`` with one ``resolved`` notice. Before: ``connected``."""
    _read_keys(pg, acme)
    keys = sorted(_runs(pg, ""))
    assert len(keys) >= 2, keys
    refused = keys[: len(keys) // 2]
    hostile(paths=[f"/v3/api_keys/{k}" for k in refused], answer_status=403,
            answer_message="access forbidden")  # fmt: skip
    outcome = extractor(acme, pg, run="r1").run_stream(SPEC)
    assert outcome.status == "ok", outcome
    assert outcome.refused == dict.fromkeys(refused, "403"), outcome
    assert f"parent ids refused, rows kept: {refused[0]} (403)" in outcome.detail
    assert _runs(pg, "") == {k: ("r0" if k in refused else "r1", False) for k in keys}
    problem = stream_problems({SPEC.name: outcome})[SPEC.name]
    assert (problem["kind"], problem["count"], problem["ids"]) == (REFUSED, len(refused), refused)
    assert f"{refused[0]} (403)" in problem["detail"]
    first = _health(outcome, 0)
    assert (first.status, first.alert) == ("degraded", "degraded")
    health = read_health(health_engine(), "acme")
    assert health["reason"] == "ids_refused"
    assert sorted(health["alerted_problems"]) == [f"stream:{SPEC.name}:{REFUSED}"]
    again = _health(extractor(acme, pg, run="r2").run_stream(SPEC), 60)
    assert (again.status, again.alert) == ("degraded", None)  # told already
    hostile()
    clean = extractor(acme, pg, run="r3").run_stream(SPEC)
    assert clean.refused == {}
    assert stream_problems({SPEC.name: clean}) == {}
    third = _health(clean, 120)
    assert (third.status, third.alert) == ("connected", "resolved")


def test_refused_subusers_stay_skipped_units_not_refused_ids(sim, acme, pg, hostile) -> None:
    """A fan-out over the subuser list keeps its refused ids as ``skipped_units`` (one problem
    per subuser): they are not counted twice as ``refused_ids``."""
    ex = extractor(acme, pg, run="r0")
    assert ex.run_stream(catalog.get("subusers")).status == "ok"
    hostile(paths=["/v3/subusers/"], answer_status=403, answer_message="access forbidden")
    outcome = extractor(acme, pg, run="r1").run_stream(catalog.get("subuser_credits"))
    assert outcome.status == "ok", outcome
    assert outcome.skipped
    assert outcome.refused == {}
    kinds = {k.split(":")[2] for k in problem_keys([], stream_problems({"c": outcome}))}
    assert kinds == {"skipped_units"}


def test_one_key_deleted_and_one_refused_in_a_unit(sim, acme, pg, hostile) -> None:
    """A unit's keys (the parent account's: the simulator's subusers hold one key each): one
    deleted since the key list was read (404), one refused (403), the others read. The deleted
    key's row is marked deleted this run, the refused key's kept (current, named), the others'
    current. Before: the whole unit was left out of the run's deletions, so the deleted key
    stayed current although SendGrid said it is gone."""
    _read_keys(pg, acme)
    keys = sorted(_runs(pg, ""))
    assert len(keys) >= 3, keys
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    gone = sim.control.delete_row(tenant_id, "api_keys", index=0)
    refused = next(k for k in keys if k != gone)
    hostile(paths=[f"/v3/api_keys/{refused}"], answer_status=403,
            answer_message="access forbidden")  # fmt: skip
    outcome = extractor(acme, pg, run="r1").run_stream(SPEC)
    assert outcome.status == "ok", outcome
    assert f"parent ids deleted since the list was read (1): {gone}" in outcome.detail
    assert f"parent ids refused, rows kept: {refused} (403)" in outcome.detail
    assert "1 keys marked deleted" in outcome.detail
    after = _runs(pg, "")
    assert after == {k: ("r1", k == gone) if k != refused else ("r0", False) for k in keys}
    assert outcome.refused == {refused: "403"}, outcome


def test_a_refused_template_keeps_only_its_own_versions(sim, acme, pg, hostile) -> None:
    """A unit's templates, one refused (403) while the others read: a version of a read
    template that SendGrid no longer returns (a row planted as seen in an earlier run) is
    marked deleted this run, the refused template's versions stay current. Before: the whole
    unit was left out of the run's deletions (the stale version stayed current)."""
    ex = extractor(acme, pg, run="r0")
    for name in ("subusers", "templates", "template_versions"):
        assert ex.run_stream(catalog.get(name)).status == "ok", name
    table = f'"{STAGING_SCHEMA}".template_versions'
    rows = pg.execute(
        f"select subuser, parent_key from {table} where tenant_id = 'acme' "  # noqa: S608
        "and is_current group by 1, 2 order by 1, 2"
    ).fetchall()
    by_unit: dict[str, list[str]] = {}
    for unit, template in rows:
        by_unit.setdefault(unit, []).append(template)
    unit, (refused, read, *_) = next((u, ts) for u, ts in by_unit.items() if len(ts) >= 2)
    pg.execute(
        f"insert into {table} (tenant_id, subuser, parent_key, record_key, record_hash, record, "  # noqa: S608
        "first_seen_at, last_seen_at, extracted_at, run_id) select tenant_id, subuser, "
        "parent_key, 'stale-version', 'stale', record, first_seen_at, last_seen_at, "
        f"extracted_at, run_id from {table} where tenant_id = 'acme' and subuser = %s "
        "and parent_key = %s and is_current limit 1",
        (unit, read),
    )
    hostile(paths=[f"/v3/templates/{refused}"], answer_status=403,
            answer_message="access forbidden", on_behalf_of=unit or None)  # fmt: skip
    outcome = extractor(acme, pg, run="r1").run_stream(catalog.get("template_versions"))
    assert outcome.status == "ok", outcome
    after = pg.execute(
        f"select parent_key, record_key, deleted_at is not null from {table} "  # noqa: S608
        "where tenant_id = 'acme' and subuser = %s and is_current",
        (unit,),
    ).fetchall()
    deleted = {(template, key) for template, key, gone in after if gone}
    assert deleted == {(read, "stale-version")}, after
    assert any(template == refused for template, _, _ in after), after
    assert outcome.refused == {refused: "403"}, outcome


def test_kept_ids_need_a_known_column(pg) -> None:
    """The column a snapshot leaves kept ids' rows alone by is one of a fixed set, never text
    from elsewhere put into SQL: anything else is a clear error before any statement runs."""
    from sendgrid_elt import snapshot_guard

    params = {"t": "acme", "seen": T0, "run": "r1", "stream": SPEC.name}
    with pytest.raises(ValueError, match="kept parent ids need their column"):
        snapshot_guard.finish(pg, f'"{STAGING_SCHEMA}".api_key_scopes', params, [],
                              kept=[("", "k")], column="parent_key or true")  # fmt: skip
