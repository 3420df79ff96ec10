"""A fan-out's parent id PostgreSQL cannot store as SendGrid gave it is never sent altered.

A NUL in a category name (or a template id) is repaired to U+FFFD when its parent's record is
stored. Before, only a subuser name stored so was held back (tests/extract/test_repaired_names):
the other fan-outs sent the altered id, and SendGrid's answer about an id it does not hold (a
400 for an unknown category, a 404 read as "the template was deleted") lost or wrongly deleted
that id's data. Now every fan-out parent follows the one rule: the id is not sent, one reject
and one WARNING name it, every other id loads, its rows are left alone, a rerun converges.

Real hook, HTTP simulator (its tenant data holds the NUL) and PostgreSQL.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg
import pytest

from sendgrid_elt.extract import TenantExtractor
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import current_keys

S = STAGING_SCHEMA


def _parent_collection(sim: Any, name: str) -> list:
    """Acme's parent account's simulated ``name`` collection (mutable: the served data)."""
    world = sim.app.world
    tenant = world.by_id[sim.accounts["tenants"][0]["tenant_id"]]
    return world.catalog.get(tenant, tenant.parent, name)


def _asked(monkeypatch: pytest.MonkeyPatch, hook: Any, path: str, param: str | None) -> list:
    """Every id the hook sends from now on: ``param``'s values on ``path``, or the paths under
    it (a path fan-out). The real requests still go out."""
    asked: list = []
    real = hook.iter_record_pages

    def spied(request_path: str, **kwargs: Any) -> Any:
        if param is not None and request_path == path:
            asked.extend(kwargs["params"][param])
        elif param is None and request_path.startswith(f"{path}/"):
            asked.append(request_path)
        return real(request_path, **kwargs)

    monkeypatch.setattr(hook, "iter_record_pages", spied)
    return asked


def _rejects(pg: psycopg.Connection, stream: str) -> list[dict]:
    cur = pg.cursor(row_factory=psycopg.rows.dict_row)
    query = f"select * from {S}.rejects where tenant_id = 'acme' and stream = %s"  # noqa: S608
    return cur.execute(query, (stream,)).fetchall()


def _warnings(caplog: pytest.LogCaptureFixture, stored: str) -> list[str]:
    return [m for r in caplog.records
            if r.levelno == logging.WARNING and stored in (m := r.getMessage())]  # fmt: skip


def test_a_category_stored_repaired_is_never_sent_and_the_others_load(
    sim: Any, acme: Any, pg: psycopg.Connection, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Before: ``categories=cat\ufffdegory`` was sent; SendGrid (the simulator) answers 400
    for a category it does not hold, so the chunk was split and the stream ended ``error``
    every run. Now: the altered name is never requested, one reject (kept once, seen twice
    over two runs) and one WARNING per run name it, every other category's stats load."""
    names = _parent_collection(sim, "categories")
    names[0] = "cat\x00egory"
    stored, others = "cat\ufffdegory", set(names[1:])
    assert others
    asked = _asked(monkeypatch, acme, "/v3/categories/stats", "categories")
    caplog.set_level(logging.INFO)
    for run in ("r1", "r2"):
        outcomes = TenantExtractor(acme, pg, "acme", run).run(["categories", "category_stats"])
        assert outcomes["category_stats"].status == "ok", outcomes["category_stats"]
        assert set(asked) == others  # neither the altered name nor the true one (unknown)
        loaded = {r[0] for r in pg.execute(
            f"select distinct record->>'name' from {S}.category_stats "  # noqa: S608
            "where tenant_id = 'acme' and subuser = ''")}  # fmt: skip
        assert loaded == others
        [reject] = _rejects(pg, "category_stats")
        assert (reject["subuser"], reject["parent_key"]) == ("", stored)
        assert reject["reason"].startswith("categories.category stored with U+FFFD"), reject
        assert json.loads(reject["raw"]) == {"category": stored}
        assert reject["times_seen"] == (1 if run == "r1" else 2)
        assert "not sent (see rejects): cat\ufffdegory" in outcomes["category_stats"].detail
    warned = _warnings(caplog, stored)
    assert len(warned) == 2, warned  # one a run
    assert warned[0].startswith("tenant acme: stream category_stats: categories id ")


def test_a_template_stored_repaired_is_never_sent_and_its_rows_are_not_deleted(
    sim: Any, acme: Any, pg: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path fan-out over a snapshot: before, ``/v3/templates/d-\ufffd...`` answered 404,
    read as "the template was deleted since its list was read", and the versions staged under
    that id were marked deleted. Now the id is not sent, its rows stay current, the other
    templates' versions load and the rerun adds no second reject."""
    templates = _parent_collection(sim, "templates")
    assert len(templates) > 1
    templates[0]["id"] = "d-\x00" + templates[0]["id"][2:]
    stored = templates[0]["id"].replace("\x00", "\ufffd")
    asked = _asked(monkeypatch, acme, "/v3/templates", None)
    streams = ["templates", "template_versions"]
    assert TenantExtractor(acme, pg, "acme", "r1").run(streams)["template_versions"].status == "ok"
    pg.execute(  # a version staged under that id (before its name held the NUL, say)
        f"insert into {S}.template_versions (tenant_id, subuser, parent_key, record_key, "  # noqa: S608
        "record_hash, record, first_seen_at, last_seen_at, extracted_at, run_id) "
        "select tenant_id, subuser, %s, 'v-kept', record_hash, record, first_seen_at, "
        f"last_seen_at, extracted_at, run_id from {S}.template_versions "
        "where tenant_id = 'acme' and subuser = '' and is_current limit 1",
        (stored,),
    )
    outcome = TenantExtractor(acme, pg, "acme", "r2").run(streams)["template_versions"]
    assert outcome.status == "ok", outcome
    assert current_keys(pg, "template_versions", "")["/v-kept"] is False  # not deleted
    sent = {p.rsplit("/", 1)[1] for p in asked}
    assert sent == {t["id"] for t in templates[1:]}
    versions = {r[0] for r in pg.execute(
        f"select distinct parent_key from {S}.template_versions where tenant_id = 'acme' "  # noqa: S608
        "and subuser = '' and is_current and deleted_at is null")}  # fmt: skip
    assert versions == {stored, *sent}
    [reject] = _rejects(pg, "template_versions")
    assert (reject["parent_key"], reject["times_seen"]) == (stored, 2)
    assert reject["reason"].startswith("templates.id stored with U+FFFD")
