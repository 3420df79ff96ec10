"""What a run cannot read is kept visibly: refused subusers, retired endpoints, rejects.

Before: a subuser SendGrid refused (403/404/451) was only named in ``stream_status.detail``;
the stream stayed ``ok``, the tenant ``connected``, nobody was told, and that subuser's volume
silently dropped out of the tenant's totals. A 404 on a stream tied to no plan feature read as
``not_licensed`` (a true zero in the marts, no alert). The published run summary had no count
of the records the run rejected.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from sendgrid_elt import catalog
from sendgrid_elt.connection_health import (
    health_engine,
    read_health,
    record_health,
    stream_problems,
)
from sendgrid_elt.settings import STAGING_SCHEMA

from .conftest import extractor, subuser_rows_after

T0 = dt.datetime(2026, 11, 28, 0, 5, tzinfo=dt.UTC)
EU = "Unavailable due to data residency restrictions"


def _record(outcomes: dict, minutes: int) -> Any:
    return record_health(health_engine(), tenant_id="acme", status="connected",
                         stream_problems=stream_problems(outcomes), covered=list(outcomes),
                         now=T0 + dt.timedelta(minutes=minutes))  # fmt: skip


@pytest.mark.usefixtures("airflow_home")
def test_a_refused_subuser_that_still_exists_degrades_the_tenant_once(
    sim, acme, pg, hostile, warehouse
) -> None:
    """A 451 (an EU subuser read through the global host) for one subuser: the others load,
    the stream is ``ok`` but keeps the subuser in ``skipped``; the tenant is ``degraded`` with
    one alert naming how many and why; the same problem next run alerts no more."""
    names = [n for n, r in subuser_rows_after(pg, acme).items() if not r.get("disabled")]
    eu = names[0]
    hostile(paths=["/v3/user/account"], answer_status=451, answer_message=EU, on_behalf_of=eu)
    spec = catalog.get("user_account")
    outcome = extractor(acme, pg, run="r1").run_stream(spec)
    assert outcome.status == "ok", outcome
    first = _record({"user_account": outcome}, 0)
    assert (first.status, first.alert) == ("degraded", "degraded")
    assert read_health(health_engine(), "acme")["reason"] == "units_skipped"
    problem = stream_problems({"user_account": outcome})["user_account"]
    assert (problem["kind"], problem["count"]) == ("skipped_units", 1)
    why = f"1 subuser skipped, rows kept: {eu} (451: data in another region, connect it"
    assert why in problem["detail"]
    assert outcome.skipped == {eu: "451: data in another region, connect it with region eu"}
    assert outcome.as_dict()["skipped"] == 1
    again = extractor(acme, pg, run="r2").run_stream(spec)
    second = _record({"user_account": again}, 60)
    assert (second.status, second.alert) == ("degraded", None)  # told already
    told = read_health(health_engine(), "acme")["alerted_problems"]
    assert sorted(told) == [f"stream:user_account:skipped_units:{eu}"]  # one per subuser
    hostile()  # read again: connected, one resolved notice
    clean = extractor(acme, pg, run="r3").run_stream(spec)
    assert clean.skipped == {}
    third = _record({"user_account": clean}, 120)
    assert (third.status, third.alert) == ("connected", "resolved")


def test_a_subuser_deleted_or_disabled_since_the_list_is_no_problem(sim, acme, pg, hostile):
    """A subuser deleted after the run read the subuser list is refused (403) by the fan-out:
    a normal race, named in ``detail`` but not a problem; so is one that is disabled. A
    subuser that exists and is enabled stays a problem, and SendGrid is asked about each
    refused subuser once per run, not once per stream."""
    rows = subuser_rows_after(pg, acme)
    disabled = sorted(n for n, r in rows.items() if r.get("disabled"))
    enabled = sorted(n for n, r in rows.items() if not r.get("disabled"))
    assert disabled, rows
    assert len(enabled) >= 2, rows
    tenant_id = sim.accounts["tenants"][0]["tenant_id"]
    ids = sorted(rows.values(), key=lambda r: r["id"])
    index = next(i for i, r in enumerate(ids) if r["username"] == enabled[0])
    by_id = {r["id"]: r["username"] for r in rows.values()}
    gone = by_id[sim.control.delete_row(tenant_id, "subusers", index=index)]
    assert gone == enabled[0]
    refused = enabled[1]
    hostile(paths=["/v3/user/account", "/v3/user/credits"], answer_status=403,
            answer_message="access forbidden", on_behalf_of=refused)  # fmt: skip
    ex = extractor(acme, pg, run="r1")
    outcome = ex.run_stream(catalog.get("user_account"))
    assert outcome.status == "ok", outcome
    assert problems_of(outcome) == {"kind": "skipped_units", "count": 1}
    assert set(outcome.skipped) == {refused}, outcome
    assert f"{gone} (403; the subuser is deleted now, not a problem)" in outcome.detail
    hostile(paths=["/v3/user/credits"], answer_status=403, answer_message="access forbidden",
            on_behalf_of=disabled[0])  # fmt: skip
    before = acme.request_count
    credits = ex.run_stream(catalog.get("user_credits"))
    assert set(credits.skipped) == set(), credits  # the refused one: not this path now
    assert f"{disabled[0]} (403; the subuser is disabled now, not a problem)" in credits.detail
    assert f"{gone} (403; the subuser is deleted now" in credits.detail
    # the parent, each subuser, and one lookup (the disabled one's): the gone one was looked
    # up by the first stream
    assert credits.requests == acme.request_count - before == 1 + len(rows) + 1, credits


def problems_of(outcome: Any) -> dict[str, Any]:
    p = stream_problems({outcome.stream: outcome}).get(outcome.stream) or {}
    return {"kind": p.get("kind"), "count": p.get("count")}


def test_a_404_on_a_stream_tied_to_no_feature_is_an_error_not_a_licence(acme, pg, monkeypatch):
    """``/v3/templates`` is tied to no plan feature: its 404 (the endpoint retired, or
    SendGrid's fault) is ``error`` with the reason and a health problem, never
    ``not_licensed``; a 404 on a plan-feature stream still is the plan's answer."""
    from sendgrid_hook import errors

    def not_found(path, **kwargs):
        raise errors.SendGridNotFoundError(f"GET {path}: 404 resource not found", status_code=404)

    monkeypatch.setattr(acme, "iter_record_pages", not_found)
    spec = catalog.get("templates")
    assert spec.feature is None
    outcome = extractor(acme, pg).run_stream(spec)
    assert outcome.status == "error", outcome
    assert "404 on /v3/templates, a stream tied to no plan feature" in outcome.detail
    assert "resource not found" in outcome.detail
    assert problems_of(outcome) == {"kind": "failed", "count": 0}
    featured = catalog.get("singlesends")
    assert featured.feature
    assert extractor(acme, pg, run="r2").run_stream(featured).status == "not_licensed"


@pytest.mark.usefixtures("airflow_home")
def test_the_run_summary_counts_the_runs_rejects(warehouse, caplog) -> None:
    """The published summary (and its log line) says how many records the run rejected."""
    import psycopg

    from sendgrid_elt.extract_load import prepare_staging
    from sendgrid_elt.publish import staging_summary
    from sendgrid_elt.rejects import Reject, save_rejects

    prepare_staging()
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        conn.execute(
            f'insert into "{STAGING_SCHEMA}".stream_status (tenant_id, stream, status, '  # noqa: S608
            "checked_at, run_id, records, rejected) values ('a', 'bounces', 'ok', now(), "
            "'run-1', 5, 2), ('b', 'bounces', 'ok', now(), 'run-1', 1, 1)"
        )
        for tenant, raws in (("a", ["{1}", "{2}"]), ("b", ["{3}"])):
            rejects = [Reject("", "", None, "not a JSON object", raw) for raw in raws]
            save_rejects(conn, tenant, "bounces", "run-1", rejects)
        save_rejects(conn, "a", "blocks", "run-0", [Reject("", "", None, "no key", "{4}")])
    with caplog.at_level(logging.INFO, logger="sendgrid_elt.publish"):
        summary = staging_summary("run-1")
    assert summary["rejected"] == {"records": 3, "tenants": 2}
    assert "3 records rejected (2 tenants" in caplog.text
