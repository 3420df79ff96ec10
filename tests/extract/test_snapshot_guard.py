"""A snapshot's mass deletion waits for the next complete read to agree (real PostgreSQL).

Before: a complete read that SendGrid answered wrongly but plausibly (200 with ``[]``, a page
size capped below our ``limit`` without a ``Link``) marked most of a unit's keys deleted in one
run: seats, API keys, domains dropped to zero in the marts for a day, then came back. Now such
a unit's deletions are held (:mod:`sendgrid_elt.snapshot_guard`): the next complete read that
misses them again applies them, one in which they are back clears the hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from sendgrid_hook.transport import ApiResponse

from sendgrid_elt import catalog
from sendgrid_elt.connection_health import health_engine, read_health, record_health
from sendgrid_elt.health_problems import stream_problems
from sendgrid_elt.loader import StagingLoader
from sendgrid_elt.settings import STAGING_SCHEMA
from sendgrid_elt.snapshot_guard import Held

from .conftest import current_keys, extractor, subuser_names

SPEC = catalog.get("api_keys")  # a snapshot stream read per subuser
T0 = dt.datetime(2026, 11, 28, 0, 5, tzinfo=dt.UTC)


def _pages(unit: str, keys: list[str]) -> Iterator[Any]:
    """One page per key: the loader's ``(rows, rejects)``."""
    for key in keys:
        data = json.dumps({"api_key_id": key, "name": key}, sort_keys=True).encode()
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        yield [(unit, "", key, data, digest, None)], []


def _read(pg: psycopg.Connection, run: str, units: dict[str, list[str]]) -> tuple[int, Any]:
    """A complete snapshot of ``units`` (unit -> the keys SendGrid answered) in ``run``."""
    writer = StagingLoader(pg, "t1", run).stream(SPEC)
    for unit, keys in units.items():
        writer.write_unit(unit, _pages(unit, keys))
    return writer.finish_snapshot(), getattr(writer, "held", None)  # None: before the guard


def _deleted(pg: psycopg.Connection, unit: str) -> dict[str, bool]:
    rows = pg.execute(
        f'select record_key, deleted_at is not null from "{STAGING_SCHEMA}".api_keys '  # noqa: S608
        "where tenant_id = 't1' and subuser = %s and is_current",
        (unit,),
    ).fetchall()
    return dict(rows)


def _holds(pg: psycopg.Connection) -> list[tuple[Any, ...]]:
    return pg.execute(
        f'select stream, subuser, held_keys, current_keys, run_id from "{STAGING_SCHEMA}"'  # noqa: S608
        ".snapshot_holds order by 1, 2"
    ).fetchall()


KEYS = [f"k{i:02}" for i in range(20)]


def test_a_unit_answered_empty_is_held_then_deleted_when_the_next_read_agrees(pg, caplog):
    """(1) A subuser of 20 keys answered with ``[]``: nothing marked deleted, the hold is
    remembered and logged; a retry of the same run holds again. (2) The next run answering
    ``[]`` again deletes all 20 and clears the hold. The parent unit, read in full both
    times, is untouched."""
    assert _read(pg, "r1", {"": ["p1"], "sub1": KEYS})[0] == 0
    with caplog.at_level(logging.WARNING, logger="sendgrid_elt.snapshot_guard"):
        deleted, held = _read(pg, "r2", {"": ["p1"], "sub1": []})
    assert (deleted, held) == (0, [Held("sub1", 20, 20)])
    assert not any(_deleted(pg, "sub1").values())
    assert _holds(pg) == [("api_keys", "sub1", 20, 20, "r2")]
    line = "tenant t1: stream api_keys: unit sub1: deletion of 20 of 20 keys held for subuser sub1"
    assert line in caplog.text
    assert _read(pg, "r2", {"": ["p1"], "sub1": []}) == (0, [Held("sub1", 20, 20)])  # a retry
    assert not any(_deleted(pg, "sub1").values())
    assert _read(pg, "r3", {"": ["p1"], "sub1": []}) == (20, [])
    assert _deleted(pg, "sub1") == dict.fromkeys(KEYS, True)
    assert _deleted(pg, "") == {"p1": False}
    assert _holds(pg) == []


def test_keys_back_on_the_next_read_clear_the_hold_and_delete_nothing(pg) -> None:
    """(3) Held in run 2, the 20 keys are back in run 3: nothing deleted, the hold cleared (a
    later empty answer is held again, not taken as the second opinion)."""
    _read(pg, "r1", {"sub1": KEYS})
    assert _read(pg, "r2", {"sub1": []}) == (0, [Held("sub1", 20, 20)])
    assert _read(pg, "r3", {"sub1": KEYS}) == (0, [])
    assert _holds(pg) == []
    assert _deleted(pg, "sub1") == dict.fromkeys(KEYS, False)
    assert _read(pg, "r4", {"sub1": []}) == (0, [Held("sub1", 20, 20)])


def test_a_held_unit_read_with_a_few_keys_missing_deletes_those_and_clears_the_hold(pg):
    """Held in run 2; run 3 returns 18 of the 20 keys: the 2 go at once, the hold is cleared."""
    _read(pg, "r1", {"sub1": KEYS})
    _read(pg, "r2", {"sub1": []})
    assert _read(pg, "r3", {"sub1": KEYS[2:]}) == (2, [])
    assert _deleted(pg, "sub1") == {k: k in KEYS[:2] for k in KEYS}
    assert _holds(pg) == []


def test_the_end_of_a_snapshot_costs_one_statement_when_nothing_is_deleted(pg, monkeypatch):
    """Nothing to delete: one statement ends the snapshot (the grouped count of unseen keys, in
    place of the ``UPDATE``); a few keys to delete: that count and the ``UPDATE``; a unit
    missing enough keys to be held: one grouped count of its current keys more."""
    statements: list[str] = []
    real = psycopg.Connection.execute

    def counting(self: Any, query: Any, *args: Any, **kw: Any) -> Any:
        statements.append(str(query))
        return real(self, query, *args, **kw)

    _read(pg, "r1", {"": KEYS, "sub1": KEYS})
    writer = StagingLoader(pg, "t1", "r2").stream(SPEC)
    for unit, keys in (("", KEYS), ("sub1", KEYS)):
        writer.write_unit(unit, _pages(unit, keys))
    monkeypatch.setattr(psycopg.Connection, "execute", counting)
    assert writer.finish_snapshot() == 0
    assert len(statements) == 1, statements
    monkeypatch.undo()
    writer = StagingLoader(pg, "t1", "r3").stream(SPEC)
    for unit, keys in (("", KEYS[3:]), ("sub1", KEYS)):
        writer.write_unit(unit, _pages(unit, keys))
    monkeypatch.setattr(psycopg.Connection, "execute", counting)
    statements.clear()
    assert writer.finish_snapshot() == 3
    assert [q.split()[0] for q in statements] == ["select", "update"], statements
    monkeypatch.undo()
    writer = StagingLoader(pg, "t1", "r4").stream(SPEC)
    writer.write_unit("", _pages("", KEYS[3:]))
    writer.write_unit("sub1", _pages("sub1", []))
    monkeypatch.setattr(psycopg.Connection, "execute", counting)
    statements.clear()
    assert writer.finish_snapshot() == 0
    assert [q.split()[0] for q in statements] == ["select", "select", "insert"], statements


def test_a_few_missing_keys_and_a_small_unit_are_deleted_at_once(pg) -> None:
    """(4) 3 of 20 keys missing: deleted at once. (5) A unit of 9 keys answered with ``[]``
    (below the minimum of 10): deleted at once too. Neither is held."""
    small = [f"s{i}" for i in range(9)]
    _read(pg, "r1", {"": small, "sub1": KEYS})
    assert _read(pg, "r2", {"": [], "sub1": KEYS[3:]}) == (3 + 9, [])
    assert _deleted(pg, "sub1") == {k: k in KEYS[:3] for k in KEYS}
    assert _deleted(pg, "") == dict.fromkeys(small, True)
    assert _holds(pg) == []


def test_one_unit_held_does_not_hold_the_others(pg) -> None:
    """A held unit and a unit losing a few keys in one read: those few go at once."""
    _read(pg, "r1", {"": KEYS, "sub1": KEYS})
    assert _read(pg, "r2", {"": KEYS[1:], "sub1": KEYS[:5]}) == (1, [Held("sub1", 15, 20)])
    assert _deleted(pg, "")["k00"] is True
    assert not any(_deleted(pg, "sub1").values())


def _answer_keys(acme: Any, monkeypatch: pytest.MonkeyPatch, unit: str, keys: list[str]) -> None:
    """``/v3/api_keys`` of ``unit`` answers ``keys`` (one page; the other units are real)."""
    real_get = acme.transport.get

    def get(url: str, params: Any = None, **kw: Any) -> ApiResponse:
        response = real_get(url, params, **kw)
        if urlsplit(url).path.rstrip("/") == "/v3/api_keys" and kw.get("on_behalf_of") == unit:
            body = {"result": [{"api_key_id": k, "name": k} for k in keys]}
            return ApiResponse(response.url, 200, response.headers, body)
        return response

    monkeypatch.setattr(acme.transport, "get", get)


def _health(outcome: Any, minutes: int) -> Any:
    return record_health(health_engine(), tenant_id="acme", status="connected",
                         stream_problems=stream_problems({"api_keys": outcome}),
                         covered=["api_keys"], now=T0 + dt.timedelta(minutes=minutes))  # fmt: skip


@pytest.mark.usefixtures("airflow_home", "warehouse")
def test_a_held_unit_is_named_and_degrades_the_tenant_once(acme, pg, monkeypatch) -> None:
    """Through the extractor: a subuser's 20 API keys answered as ``[]`` leave the stream
    ``ok`` with the hold named in ``detail``, a ``held_deletions`` problem, the tenant
    ``degraded`` with one alert; the next run that agrees deletes them, the tenant is
    ``connected`` again with one ``resolved`` notice."""
    unit = subuser_names(pg, acme)[0]
    _answer_keys(acme, monkeypatch, unit, KEYS)
    assert extractor(acme, pg, run="r1").run_stream(SPEC).status == "ok"
    _answer_keys(acme, monkeypatch, unit, [])
    outcome = extractor(acme, pg, run="r2").run_stream(SPEC)
    assert outcome.status == "ok", outcome
    why = f"deletion of 20 of 20 keys held for subuser {unit} until the next complete read agrees"
    assert why in (outcome.detail or ""), outcome.detail
    assert outcome.held == {unit: why}
    assert outcome.as_dict()["held"] == 1
    assert not any(current_keys(pg, "api_keys", unit).values())
    problem = stream_problems({"api_keys": outcome})["api_keys"]
    assert (problem["kind"], problem["count"], problem["detail"]) == ("held_deletions", 1, why)
    first = _health(outcome, 60)
    assert (first.status, first.alert) == ("degraded", "degraded")
    assert read_health(health_engine(), "acme")["reason"] == "deletions_held"
    again = extractor(acme, pg, run="r3").run_stream(SPEC)
    assert (again.status, again.held) == ("ok", {}), again
    assert "20 keys marked deleted" in (again.detail or ""), again.detail
    assert current_keys(pg, "api_keys", unit) == {f"{unit}/{k}": True for k in KEYS}
    second = _health(again, 120)
    assert (second.status, second.alert) == ("connected", "resolved")


def test_a_held_stream_that_also_rejected_records_says_both() -> None:
    """The alert's text of a ``held_deletions`` problem keeps the stream's rejected records."""
    from types import SimpleNamespace

    from sendgrid_elt.health_problems import problems_text

    why = "deletion of 20 of 20 keys held for subuser bob until the next complete read agrees"
    outcome = SimpleNamespace(status="ok", detail=why, rejected=2, held={"bob": why})
    text = problems_text(stream_problems({"api_keys": outcome}))
    assert text == f"stream api_keys: {why}; it rejected 2 records"


def test_a_subuser_no_longer_listed_loses_its_keys_at_once(pg) -> None:
    """A subuser the ``subusers`` stream no longer lists (deleted in SendGrid) is gone: its
    keys are deleted at once, not held for a second read (no false alarm). A unit still
    listed is held as before; with no subuser listed at all (a subuser list answered ``[]``
    is no proof) every unit is held."""
    _read(pg, "r1", {"": ["p1"], "sub1": KEYS, "sub2": KEYS})
    writer = StagingLoader(pg, "t1", "r2").stream(SPEC)
    writer.write_unit("", _pages("", ["p1"]))
    assert writer.finish_snapshot(listed=["sub2"]) == 20 + 20 - 20  # sub1 gone, sub2 held
    assert writer.held == [Held("sub2", 20, 20)]
    assert all(_deleted(pg, "sub1").values())
    assert not any(_deleted(pg, "sub2").values())
    writer = StagingLoader(pg, "t1", "r2").stream(SPEC)
    writer.write_unit("", _pages("", ["p1"]))
    assert writer.finish_snapshot(listed=[]) == 0  # nothing listed: held, not deleted
    assert writer.held == [Held("sub2", 20, 20)]


@pytest.mark.usefixtures("airflow_home", "warehouse")
def test_a_subuser_deleted_in_sendgrid_drops_its_keys_without_a_hold(sim, acme, pg, monkeypatch):
    """Through the extractor on the simulator: a subuser with 20 API keys is deleted; the
    next run's subuser list drops it and its keys are marked deleted in that run, with no
    hold and no ``held_deletions`` problem."""
    names = subuser_names(pg, acme)
    unit = names[0]
    _answer_keys(acme, monkeypatch, unit, KEYS)
    assert extractor(acme, pg, run="r1").run_stream(SPEC).status == "ok"
    rows = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in pg.execute(
        f'select record from "{STAGING_SCHEMA}".subusers where tenant_id = %s',  # noqa: S608
        ("acme",))]  # fmt: skip
    ids = sorted(rows, key=lambda r: r["id"])
    index = next(i for i, r in enumerate(ids) if r["username"] == unit)
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    gone = sim.control.delete_row(tenant_id, "subusers", index=index)
    assert gone == ids[index]["id"]
    ex = extractor(acme, pg, run="r2")
    assert ex.run_stream(catalog.get("subusers")).status == "ok"
    outcome = ex.run_stream(SPEC)
    assert (outcome.status, outcome.held) == ("ok", {}), outcome
    assert current_keys(pg, "api_keys", unit) == {f"{unit}/{k}": True for k in KEYS}
    assert _holds(pg) == []
