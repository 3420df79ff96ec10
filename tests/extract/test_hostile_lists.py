"""One odd list response never stops a unit's other rows, nor empties a snapshot.

The extractor against the simulator and a real PostgreSQL: a record that is no object on a
later page of a suppression list is one reject (the other rows load, the next run too), and a
list answered as ``null`` or ``204 No Content`` fails its unit with its rows kept, instead of
reading as a complete, empty snapshot that marks every current row deleted.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from sendgrid_hook.transport import ApiResponse

from sendgrid_elt import catalog
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import connection_json, current_keys, extractor, staged_keys, statuses

BOUNCES = "/v3/suppression/bounces"


def _rejects(pg: psycopg.Connection, stream: str) -> list[tuple[Any, ...]]:
    return pg.execute(
        f'select record_key, reason, times_seen from "{STAGING_SCHEMA}".rejects '  # noqa: S608
        "where tenant_id = 'acme' and stream = %s",
        (stream,),
    ).fetchall()


def test_a_non_object_record_on_a_later_suppression_page_is_one_reject(
    sim: Any, acme: Any, pg: psycopg.Connection
) -> None:
    """``42`` in place of a bounce on page 2 of the parent's list (pages of 500, narrowed by
    ``created``): the unit loads every other row and keeps the record in ``rejects``; the next
    run goes on from the unit's cursor. It once stopped the whole unit with an
    ``AttributeError`` and staged nothing."""
    emails = [r["email"] for r in acme.iter_records(BOUNCES, pagination="created_window",
                                                    records_path=None, page_size=500)]  # fmt: skip
    assert len(emails) > 1000  # the poisoned record sits on a later page
    tenant = sim.accounts["tenants"][0]["tenant_id"]
    sim.control.poison(tenant, "bounces", emails[700], "not_object")
    parent_only = dataclasses.replace(catalog.get("bounces"), per_subuser=False)
    try:
        for run in ("r1", "r2"):
            outcome = extractor(acme, pg, run=run).run_stream(parent_only)
            assert outcome.status == "ok", outcome
            assert outcome.rejected == (run == "r1"), outcome  # run 2 reads from its cursor
            assert staged_keys(pg, "acme", "bounces") == sorted(set(emails) - {emails[700]})
    finally:
        sim.control.clear_poisons()
    [(key, reason, seen)] = _rejects(pg, "bounces")
    assert (key, seen) == (None, 1)  # incremental: run 2 did not read it again
    assert reason.startswith("record not an object")


def _answering(
    hook: Any, monkeypatch: pytest.MonkeyPatch, path: str, status: int, body: Any
) -> None:
    """Make ``hook`` receive ``status`` and ``body`` for ``path`` (read for real first)."""
    real_get = hook.transport.get

    def get(url: str, params: Any = None, **kw: Any) -> ApiResponse:
        response = real_get(url, params, **kw)
        if urlsplit(url).path.rstrip("/") == path:
            return ApiResponse(response.url, status, response.headers, body)
        return response

    monkeypatch.setattr(hook.transport, "get", get)


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (200, {"result": None}, "'result' is null, not a list"),
        (200, {"results": None}, "'results' is null, not a list"),
        (204, None, "204 No Content"),
    ],
    ids=["result-null", "results-null", "204"],
)
def test_a_null_teammate_list_fails_the_unit_and_deletes_nobody(
    acme: Any, pg: psycopg.Connection, monkeypatch: pytest.MonkeyPatch,
    status: int, body: Any, why: str,
) -> None:  # fmt: skip
    """``/v3/teammates`` answering a null list (or no content) once: the stream fails with the
    reason, every teammate stays current and not deleted. It once read as a complete, empty
    snapshot: every teammate marked deleted, the stream ``ok``."""
    spec = catalog.get("teammates")
    assert extractor(acme, pg, run="r1").run_stream(spec).status == "ok"
    before = current_keys(pg, "teammates")
    assert before
    assert not any(before.values())
    _answering(acme, monkeypatch, "/v3/teammates", status, body)
    outcome = extractor(acme, pg, run="r2").run_stream(spec)
    assert outcome.status == "error", outcome
    assert why in outcome.detail, outcome.detail
    assert "rows kept" in outcome.detail, outcome.detail
    assert current_keys(pg, "teammates") == before


def test_two_records_of_one_key_in_a_read_say_so_in_the_stream_detail(
    acme: Any, pg: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/v3/teammates`` listing one username twice with different content: one row is
    stored (the last in API order: teammates have no cursor) and the stream's detail counts
    the other as not stored. It was dropped without a word."""
    real_get = acme.transport.get
    twins: list[str] = []

    def get(url: str, params: Any = None, **kw: Any) -> ApiResponse:
        response = real_get(url, params, **kw)
        body = response.body
        if urlsplit(url).path.rstrip("/") == "/v3/teammates" and body["result"] and not twins:
            first = body["result"][0]
            twins.append(first["username"])
            body = {**body, "result": [*body["result"], {**first, "first_name": "Twin"}]}
        return ApiResponse(response.url, response.status, response.headers, body)

    monkeypatch.setattr(acme.transport, "get", get)
    outcome = extractor(acme, pg, run="r1").run_stream(catalog.get("teammates"))
    assert outcome.status == "ok", outcome
    assert "1 records not stored: another record of the same read" in (outcome.detail or "")
    [(name,)] = pg.execute(
        f"select record->>'first_name' from \"{STAGING_SCHEMA}\".teammates "  # noqa: S608
        "where tenant_id = 'acme' and record_key = %s",
        (twins[0],),
    ).fetchall()
    assert name == "Twin"  # the last in API order


def test_a_subuser_list_without_content_deletes_no_subuser_rows(
    acme: Any, pg: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/v3/subusers`` answering 204 once: the subusers and every per-subuser snapshot
    (API keys, templates) keep their rows. It once marked every subuser's rows deleted."""
    streams = [catalog.get(name) for name in ("subusers", "api_keys", "templates")]
    first = extractor(acme, pg, run="r1")
    assert [first.run_stream(spec).status for spec in streams] == ["ok"] * 3
    before = {spec.name: current_keys(pg, spec.name) for spec in streams}
    assert any(key.split("/", 1)[0] for key in before["api_keys"])  # subusers' rows exist
    _answering(acme, monkeypatch, "/v3/subusers", 204, None)
    second = extractor(acme, pg, run="r2")
    outcomes = {spec.name: second.run_stream(spec) for spec in streams}
    assert outcomes["subusers"].status == "error", outcomes["subusers"]
    assert "204 No Content" in outcomes["subusers"].detail
    assert {name: current_keys(pg, name) for name in before} == before


@pytest.mark.usefixtures("airflow_home")
def test_a_null_list_shows_in_the_stream_status_and_degrades_health(
    sim: Any, warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole tenant task: the stream's status says why, the tenant is ``degraded`` and the
    other streams load; the teammates stay current."""
    from sendgrid_hook.transport import Transport

    from sendgrid_elt.connection_health import health_engine, read_health
    from sendgrid_elt.extract_load import load_tenant, prepare_staging
    from sendgrid_elt.stream_outcome import StreamsFailed

    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0))
    prepare_staging()
    load_tenant("acme", "r1", streams=["teammates", "blocks"])
    real_get = Transport.get

    def get(self: Transport, url: str, params: Any = None, **kw: Any) -> ApiResponse:
        response = real_get(self, url, params, **kw)
        if urlsplit(url).path.rstrip("/") == "/v3/teammates":
            return ApiResponse(response.url, 200, response.headers, {"result": None})
        return response

    monkeypatch.setattr(Transport, "get", get)
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        before = staged_keys(conn, "acme", "teammates")
        assert before
        with pytest.raises(StreamsFailed, match="teammates"):
            load_tenant("acme", "r2", streams=["teammates", "blocks"])
        status = statuses(conn, "acme")
        assert (status["teammates"], status["blocks"]) == ("error", "ok")
        assert "'result' is null, not a list" in statuses(conn, "acme", "detail")["teammates"]
        assert staged_keys(conn, "acme", "teammates") == before
    health = read_health(health_engine(), "acme")
    assert health is not None
    assert health["status"] == "degraded", health
