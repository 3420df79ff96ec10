"""A name too long for an index entry is one visible reject, never a stream failed forever.

PostgreSQL's btree entries hold at most 2,704 bytes. A subuser name of 1,000 CJK characters
(about 3,000 bytes, and random enough not to compress) labels the rows of its per-subuser
streams, the ``subuser_stats`` items that name it, its ``sync_state`` row and the rejects'
key. Keys are limited in UTF-8 bytes, reject labels are stored cut short with their md5, and a
unit whose name no entry can hold is not read: one reject names it, the units after it load.
"""

from __future__ import annotations

import json
import random
from typing import Any

import psycopg
import pytest

from sendgrid_elt import catalog
from sendgrid_elt.extract_load import load_tenant, prepare_staging
from sendgrid_elt.records import Shaper
from sendgrid_elt.rejects import Reject, index_label, save_rejects
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import connection_json, staged_keys

pytestmark = pytest.mark.usefixtures("airflow_home")
S = STAGING_SCHEMA
BOUNCES = catalog.get("bounces")


def _cjk(n: int, seed: int = 7) -> str:
    """``n`` random CJK characters (3 UTF-8 bytes each; pglz finds nothing to compress)."""
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(n))


@pytest.mark.parametrize("fast", [True, False])
def test_a_key_is_limited_in_utf8_bytes_not_characters(fast: bool) -> None:
    """400 CJK characters are 1,200 bytes: rejected as a key (before, 1,000 characters was the
    limit, so a 2,700-byte key reached PostgreSQL, whose index refused it)."""
    record = {"email": _cjk(400), "created": 7, **({} if fast else {"n": "\x00"})}
    rows, [reject] = Shaper(BOUNCES, None).rows([record], "", None)
    assert rows == []
    assert reject.reason == "primary key longer than 1000 bytes (UTF-8)"
    ascii_key = {"email": "x" * 400 + "@x.org", "created": 7}
    [row], [] = Shaper(BOUNCES, None).rows([ascii_key], "", None)  # 406 bytes: fits
    assert row[2] == ascii_key["email"]


def test_a_reject_with_a_label_too_long_for_the_index_is_stored_cut_short(pg) -> None:
    """The rejects' key holds ``subuser`` and ``parent_key``: a 3,000-byte label made the
    insert raise ``ProgramLimitExceeded`` and failed the stream on every run."""
    name = _cjk(1000)
    reject = Reject(name, name, None, "primary key longer than 1000 bytes (UTF-8)", '{"a": 1}')
    with pg.transaction():
        save_rejects(pg, "acme", "subuser_stats", "r1", [reject])
    [row] = _rows(pg, "rejects")
    subuser, parent = row["subuser"], row["parent_key"]
    assert subuser == parent == index_label(name)
    assert subuser.startswith(name[:200])
    assert len(subuser.encode()) < 700
    assert index_label(name[:-1]) != subuser  # distinct names stay distinct
    assert index_label("acme-wen01") == "acme-wen01"


def _renamed(sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch, name: str) -> Any:
    """Acme with its first subuser renamed to ``name``: (connection, name, the other subusers)."""
    acme = sim.accounts["tenants"][0]
    subusers = sim.control.rename_subuser(acme["tenant_id"], acme["subusers"][0], name)
    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    prepare_staging()
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        yield conn, name, sorted(s for s in subusers if s != name)


@pytest.fixture
def long_named(sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Acme with its first subuser renamed to 1,000 CJK characters (sorted first: ``0...``)."""
    yield from _renamed(sim, warehouse, monkeypatch, "0" + _cjk(999))


def test_a_subuser_named_beyond_an_index_entry_is_one_reject_and_the_rest_loads(
    sim: Any, long_named: Any
) -> None:
    """Before, its bounces unit failed the stream on ``sync_state_pkey`` (or the rejects' key)
    and the subusers after it were never read, run after run; ``subuser_stats`` failed on the
    rejects' key. Now: every stream ``ok``; the unit is one reject naming it in full (``raw``),
    the items naming it are rejects, the other subusers load; degraded, one alert."""
    conn, name, others = long_named
    streams = ["subusers", "bounces", "subuser_credits", "subuser_stats"]
    _runs_ok_degraded_once(sim, conn, streams, others)  # raised StreamsFailed before
    [bounces] = [r for r in _rows(conn, "stream_status") if r["stream"] == "bounces"]
    assert (
        "name too long to label rows or not sendable as on-behalf-of (see rejects): "
        f"{name[:40]}" in bounces["detail"]
    )
    rejects = _rows(conn, "rejects")
    [unit] = [r for r in rejects if r["stream"] == "bounces"]
    assert unit["subuser"] == index_label(name)
    assert unit["reason"].startswith("subuser name longer than 1000 bytes (UTF-8)")
    assert json.loads(unit["raw"]) == {"subuser": name}
    assert unit["times_seen"] == 2  # the rerun saw the same reject
    assert {r["stream"] for r in rejects} >= {"bounces", "subuser_credits", "subuser_stats"}
    assert not [r for r in _rows(conn, "sync_state") if r["subuser"] == name]


@pytest.fixture
def unsendable(sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Acme with its first subuser renamed to a name holding a control character (BEL)."""
    yield from _renamed(sim, warehouse, monkeypatch, "0bell\x07ringer")


def test_a_subuser_name_that_cannot_be_sent_is_one_reject_and_the_rest_loads(
    sim: Any, unsendable: Any
) -> None:
    """A control character cannot go in the ``on-behalf-of`` header. Before, each of the
    subuser's per-subuser streams failed on it on every run (``StreamsFailed``, the alert
    saying the next run retries). Now: every stream ``ok``, the unit one reject per stream
    naming why, the other subusers load, its stats (read by name in a query) load too;
    degraded with one alert over two runs."""
    conn, name, others = unsendable
    streams = ["subusers", "bounces", "subuser_stats"]
    _runs_ok_degraded_once(sim, conn, streams, others)  # raised StreamsFailed before
    [unit] = [r for r in _rows(conn, "rejects") if r["stream"] == "bounces"]
    assert unit["reason"] == (
        "subuser name holds a control character: it cannot be sent as on-behalf-of, not read"
    )
    assert json.loads(unit["raw"]) == {"subuser": name}
    [bounces] = [r for r in _rows(conn, "stream_status") if r["stream"] == "bounces"]
    assert "not sendable as on-behalf-of (see rejects): 0bell\\x07ringer" in bounces["detail"]
    assert staged_keys(conn, "acme", "subuser_stats", name)  # its stats are read by name


def _runs_ok_degraded_once(sim: Any, conn: Any, streams: list[str], others: list[str]) -> None:
    """Two runs: every stream ``ok``, the tenant degraded with one alert, the others' bounces."""
    from sendgrid_elt.connection_health import health_engine, read_health

    for run in ("r1", "r2"):
        load_tenant("acme", run, streams=streams)
        status = {r["stream"]: r["status"] for r in _rows(conn, "stream_status")}
        assert status == dict.fromkeys(streams, "ok"), status
        health = read_health(health_engine(), "acme")
        assert (health["status"], health["alerts_sent"]) == ("degraded", 1), (run, health)
    truth = sim.control.truth()["tenants"][0]["subusers"]
    for sub in others:  # the subusers after the unusable one are read
        want = truth[sub]["suppressions"]["bounces"]
        assert len(staged_keys(conn, "acme", "bounces", sub)) == want, sub


def _rows(conn: psycopg.Connection, table: str) -> list[dict[str, Any]]:
    """Acme's rows of a staging table, as dicts."""
    cur = conn.execute(f'select * from {S}."{table}" where tenant_id = %s', ("acme",))  # noqa: S608
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
