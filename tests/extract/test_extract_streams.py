"""Stream families through the real hook, HTTP simulator and PostgreSQL (no Airflow run).

Per family: single page, many pages, first incremental run, run with state, empty result,
unknown fields kept; then injected faults, and a loader process killed mid-batch (SIGKILL).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sendgrid_elt import catalog, sync_state
from sendgrid_elt.extract import TenantExtractor
from sendgrid_elt.settings import STAGING_SCHEMA
from sendgrid_elt.stream_outcome import StreamsFailed

from .conftest import (
    TENANTS,
    assert_matches_truth,
    connection_json,
    current_keys,
    extractor,
    sim_today,
    staged_keys,
    statuses,
)


def _truth(sim, stream, index=0):
    return sim.control.truth()["tenants"][index]["streams"][stream]


def test_single_page_snapshot_keeps_raw_record(sim, acme, pg) -> None:
    outcome = extractor(acme, pg).run_stream(catalog.get("teammates"))
    assert (outcome.status, outcome.requests) == ("ok", 1)
    truth = _truth(sim, "teammates")
    assert staged_keys(pg, "acme", "teammates") == sorted(truth["primary_keys"])
    # the jsonb record is exactly what the API returned (every field, unknown ones too)
    api = acme.get_json("/v3/teammates", {"limit": 500, "offset": 0})["result"]
    query = f'select record_key, record from "{STAGING_SCHEMA}".teammates'  # noqa: S608
    stored = dict(pg.execute(query).fetchall())
    assert {r["username"]: r for r in api} == stored


def test_many_pages_offset_and_metadata_next(sim, acme, pg) -> None:
    ex = extractor(acme, pg)
    small = dataclasses.replace(catalog.get("bounces"), page_size=100, per_subuser=False)
    outcome = ex.run_stream(small)
    count = _truth(sim, "bounces")["count"]
    assert outcome.records == count
    assert outcome.requests >= count // 100
    assert len(staged_keys(pg, "acme", "bounces")) == count
    lists = dataclasses.replace(catalog.get("templates"), page_size=2, per_subuser=False)
    outcome = ex.run_stream(lists)
    assert outcome.requests == 3  # 6 templates, 2 per page
    assert staged_keys(pg, "acme", "templates") == sorted(_truth(sim, "templates")["primary_keys"])


def test_incremental_first_run_then_state(sim, acme, pg) -> None:
    spec = dataclasses.replace(catalog.get("unsubscribes"), per_subuser=False)
    first = extractor(acme, pg, "r1").run_stream(spec)
    cursor = sync_state.load_cursor(pg, "acme", "unsubscribes", "")
    assert first.records == _truth(sim, "unsubscribes")["count"]
    assert cursor["value"] == max(
        r[0]
        for r in pg.execute(
            f"select (record->>'created')::bigint from \"{STAGING_SCHEMA}\".unsubscribes"  # noqa: S608
        )
    )
    # with state: the run starts at the stored cursor (inclusive): one request, and only the
    # records of the cursor's own second are read again; nothing duplicated
    at_cursor = pg.execute(
        f'select count(*) from "{STAGING_SCHEMA}".unsubscribes '  # noqa: S608
        "where (record->>'created')::bigint = %s",
        (cursor["value"],),
    ).fetchone()[0]
    second = extractor(acme, pg, "r2").run_stream(spec)
    assert second.requests == 1
    assert second.records == at_cursor >= 1
    assert sync_state.load_cursor(pg, "acme", "unsubscribes", "") == cursor
    sim.control.advance(days=1)
    third = extractor(acme, pg, "r3").run_stream(spec)
    assert third.requests == 1
    assert len(staged_keys(pg, "acme", "unsubscribes")) == _truth(sim, "unsubscribes")["count"]


def test_date_window_lookback_and_empty_results(sim, acme, pg) -> None:
    spec = dataclasses.replace(catalog.get("global_stats"), per_subuser=False)
    first = extractor(acme, pg, "r1", today=sim_today(sim)).run_stream(spec)
    assert first.records == _truth(sim, "global_stats")["count"]
    again = extractor(acme, pg, "r2", today=sim_today(sim)).run_stream(spec)
    assert again.records == spec.window.lookback_days + 1  # only the lookback is re-pulled
    # empty result: a filter matching nothing loads nothing and fails nothing
    empty = dataclasses.replace(catalog.get("ips"), params=(("ip", "0.0.0.0"),))  # noqa: S104
    out = extractor(acme, pg, "r3").run_stream(empty)
    assert (out.status, out.records) == ("ok", 0)
    assert staged_keys(pg, "acme", "ips") == []


def test_faults_still_equal_truth(sim, pg, monkeypatch) -> None:
    """10% of requests fail (429, 5xx, timeouts, drops, truncated bodies): truth anyway."""
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    sim.control.set_faults(
        "429=0.02,500=0.02,502=0.01,503=0.01,slow=0.01,drop=0.01,truncate=0.02",
        slow_seconds=2.5,
        burst=1,
    )
    for conn_id, (index, kind) in TENANTS.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(sim, index, kind))
        hook = SendGridHook(sendgrid_conn_id=conn_id, backoff_base=0.05, backoff_max=0.5)
        TenantExtractor(hook, pg, conn_id, "faulty").run()
        hook.close()
    counts = sim.control.request_counts()
    assert sum(counts["faults"].values()) > 10, counts["faults"]
    sim.control.clear_faults()
    assert_matches_truth(pg, sim.control.truth(), TENANTS)


_CHILD = textwrap.dedent(
    """
    import sys, psycopg
    from sendgrid_hook.hooks.sendgrid import SendGridHook
    from sendgrid_elt.extract import TenantExtractor
    from sendgrid_elt.stream_outcome import StreamsFailed
    conninfo, streams = sys.argv[1], sys.argv[2].split(",")
    hook = SendGridHook(sendgrid_conn_id="acme")
    with psycopg.connect(conninfo, autocommit=True) as pg:
        TenantExtractor(hook, pg, "acme", "killed", batch_size=50).run(streams)
    """
)


def test_sigkill_mid_batch_then_rerun_converges(sim, acme, pg, pg_database) -> None:
    streams = ["subusers", "bounces", "blocks", "unsubscribes"]
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, pg_database.conninfo(), ",".join(streams)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # wait for a few committed batches of bounces
            n = pg.execute(f'select count(*) from "{STAGING_SCHEMA}".bounces').fetchone()[0]  # noqa: S608
            if n >= 400:
                break
            time.sleep(0.005)
        else:
            pytest.fail("the child loader made no progress")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    # whatever was committed is consistent: the checkpoint never runs ahead of the data
    for subuser, cursor in pg.execute(
        f"select subuser, cursor from \"{STAGING_SCHEMA}\".sync_state where stream = 'bounces'"  # noqa: S608
    ).fetchall():
        top = pg.execute(
            f"select max((record->>'created')::bigint) from \"{STAGING_SCHEMA}\".bounces "  # noqa: S608
            "where subuser = %s",
            (subuser,),
        ).fetchone()[0]
        assert cursor is None or cursor["value"] <= top
    committed = _bounces(pg)
    # rerun (a new process, like an Airflow retry) converges to the truth, exactly once
    TenantExtractor(acme, pg, "acme", "rerun", batch_size=50).run(streams)
    # each unit's committed rows were whole batches in list order: no row of the full list
    # lies between two committed rows without being committed itself (no partial batch, no gap)
    full = _bounces(pg)
    for unit, rows in committed.items():
        lo, hi = min(rows.values()), max(rows.values())
        between = {key for key, created in full[unit].items() if lo < created < hi}
        assert between <= rows.keys(), (unit, sorted(between - rows.keys())[:5])
    truth = sim.control.truth()["tenants"][0]
    for stream in streams[1:]:
        assert len(staged_keys(pg, "acme", stream)) == truth["streams"][stream]["count"]
        for sub, facts in truth["subusers"].items():
            assert len(staged_keys(pg, "acme", stream, sub)) == facts["suppressions"][stream]
    dupes = pg.execute(
        f'select count(*) - count(distinct (subuser, record_key)) from "{STAGING_SCHEMA}".bounces'  # noqa: S608
    ).fetchone()[0]
    assert dupes == 0


def _bounces(pg) -> dict[str, dict[str, int]]:
    """Staged bounces: subuser -> {record key: created}."""
    units: dict[str, dict[str, int]] = {}
    for subuser, key, created in pg.execute(
        f"select subuser, record_key, (record->>'created')::bigint"  # noqa: S608
        f' from "{STAGING_SCHEMA}".bounces'
    ).fetchall():
        units.setdefault(subuser, {})[key] = created
    return units


def test_backfill_without_new_records_keeps_its_start_as_cursor(sim, acme, pg) -> None:
    """A unit with nothing after ``start_date`` still gets a cursor: the next run does not
    read its whole history again."""
    spec = dataclasses.replace(catalog.get("blocks"), per_subuser=False)
    today = sim_today(sim)
    first = extractor(acme, pg, "r1", start_date=today).run_stream(spec)
    assert (first.status, first.records) == ("ok", 0)  # rows exist for complete days only
    cursor = sync_state.load_cursor(pg, "acme", "blocks", "")
    assert cursor["value"] == (today - dt.date(1970, 1, 1)).days * 86400
    again = extractor(acme, pg, "r2").run_stream(spec)
    assert (again.requests, again.records) == (1, 0)


def test_a_settled_cursor_second_is_not_read_again(sim, acme, pg) -> None:
    spec = dataclasses.replace(catalog.get("unsubscribes"), per_subuser=False)
    now = acme.api_time()  # the simulator's clock, as a run reads it from the Date header
    extractor(acme, pg, "r1", now=now).run_stream(spec)
    cursor = sync_state.load_cursor(pg, "acme", "unsubscribes", "")
    assert cursor["value"] <= now.timestamp() - spec.cursor.settle
    assert cursor["settled"] == spec.cursor.settle  # the settle time it was closed under
    # no change: one request starting after the closed second, nothing re-read
    again = extractor(acme, pg, "r2", now=now).run_stream(spec)
    assert (again.requests, again.records) == (1, 0)
    assert sync_state.load_cursor(pg, "acme", "unsubscribes", "") == cursor
    # a second the API's clock had not passed by `settle` stays open: the rows of the
    # `settle` seconds up to it are read again (one stamped then may be listed late)
    at_cursor = pg.execute(
        f'select count(*) from "{STAGING_SCHEMA}".unsubscribes '  # noqa: S608
        "where (record->>'created')::bigint between %s and %s",
        (cursor["value"] - spec.cursor.settle, cursor["value"]),
    ).fetchone()[0]
    sync_state.save_cursor(pg, "acme", "unsubscribes", "", {"value": cursor["value"]}, "r2")
    early = dt.datetime.fromtimestamp(cursor["value"] + 10, dt.UTC)
    third = extractor(acme, pg, "r3", now=early).run_stream(spec)
    assert third.records == at_cursor >= 1
    assert sync_state.load_cursor(pg, "acme", "unsubscribes", "") == {"value": cursor["value"]}
    assert len(staged_keys(pg, "acme", "unsubscribes")) == _truth(sim, "unsubscribes")["count"]


def test_a_listed_subuser_that_no_longer_exists_is_skipped(sim, acme, pg) -> None:
    """SendGrid answers ``400 No user found`` (its OpenAPI example) for a subuser it does not
    know: per-subuser reads skip that one, as they skip a 404, and load the others."""
    ex = extractor(acme, pg)
    assert ex.run_stream(catalog.get("subusers")).status == "ok"
    listed = staged_keys(pg, "acme", "subusers")
    assert listed, "the tenant has subusers"
    pg.execute(
        f'insert into "{STAGING_SCHEMA}".subusers (tenant_id, record_key, record_hash, record,'  # noqa: S608
        " first_seen_at, last_seen_at, extracted_at, run_id) values ('acme', '999999', 'h',"
        ' \'{"id": 999999, "username": "gone-sub"}\', now(), now(), now(), \'r0\')'
    )
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("subuser_credits"))
    assert outcome.status == "ok", outcome
    credited = {row[0] for row in pg.execute(
        f'select subuser from "{STAGING_SCHEMA}".subuser_credits where tenant_id = %s',  # noqa: S608
        ["acme"],
    )}  # fmt: skip
    assert "gone-sub" not in credited
    assert len(credited) == len(listed)  # every subuser that exists was read


def _answering_403(message: str):
    """A stand-in for the hook's page reader that gets ``403 <message>``."""
    from sendgrid_hook import errors

    def read(*args, **kwargs):
        raise errors.SendGridForbiddenError(f"GET /v3/marketing/singlesends: 403 {message}",
                                            status_code=403)  # fmt: skip

    return read


def test_a_temporary_block_is_a_failed_read_not_a_missing_licence(acme, pg, monkeypatch) -> None:
    """SendGrid's ``403 Too many bad requests. Temporary block`` says nothing about the plan:
    the stream fails this run (unknown, retried next run), never ``not_licensed`` (a zero)."""
    monkeypatch.setattr(acme, "iter_record_pages",
                        _answering_403("Too many bad requests. Temporary block"))  # fmt: skip
    outcome = extractor(acme, pg).run_stream(catalog.get("singlesends"))
    assert outcome.status == "error", outcome
    assert "Temporary block" in outcome.detail
    # a plain 403 on the same plan-feature stream is still the plan's answer
    monkeypatch.setattr(acme, "iter_record_pages", _answering_403("access forbidden"))
    outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("singlesends"))
    assert outcome.status == "not_licensed", outcome


def test_a_401_from_one_endpoint_fails_that_stream_not_the_tenant(
    sim, acme, pg, monkeypatch
) -> None:
    """A 401 on one endpoint while ``/v3/scopes`` still accepts the key is that stream's failed
    read, and so is one while ``/v3/scopes`` cannot answer (a 503 there used to confirm the 401:
    a reconnect alert for a working key); once the key itself is refused, the 401 stops the
    tenant (reconnect)."""
    from sendgrid_hook.errors import ReconnectRequired, SendGridRetriableError

    from sendgrid_simulator.hostile import configure

    configure(sim.base_url, paths=["/v3/templates"], answer_status=401,
              answer_message="authorization required")  # fmt: skip
    try:
        with pytest.raises(StreamsFailed) as failed:
            extractor(acme, pg).run(["teammates", "templates", "user_profile"])
        outcomes = failed.value.outcomes
        assert {n: o.status for n, o in outcomes.items()} == {
            "teammates": "ok", "templates": "error", "user_profile": "ok"}  # fmt: skip
        assert "only this endpoint refused the credential" in outcomes["templates"].detail
        assert statuses(pg, "acme")["templates"] == "error"

        def unanswered() -> None:  # /v3/scopes failing after the hook's retries (a 503)
            raise SendGridRetriableError("GET /v3/scopes: 503 Service Unavailable",
                                         status_code=503)  # fmt: skip

        with monkeypatch.context() as patched:  # cannot tell: no reconnect on a guess
            patched.setattr(acme, "confirm_credential", unanswered)
            outcome = extractor(acme, pg, run="r1b").run_stream(catalog.get("templates"))
        assert outcome.status == "error", outcome
        assert "could not be asked (/v3/scopes: GET /v3/scopes: 503" in outcome.detail
        sim.control.revoke_key(sim.accounts["tenants"][0]["api_keys"]["full"])
        with pytest.raises(ReconnectRequired):
            extractor(acme, pg, run="r2").run_stream(catalog.get("templates"))
    finally:
        configure(sim.base_url)


def test_a_subuser_whose_data_lives_in_another_region_is_skipped(sim, acme, pg) -> None:
    """SendGrid answers 451 (data residency) when an EU subuser is read through the global host:
    that subuser is skipped with the reason in the stream's detail, the others are read; the
    parent's own 451 fails the stream (the connection's region is wrong)."""
    from sendgrid_simulator.hostile import configure

    assert extractor(acme, pg).run_stream(catalog.get("subusers")).status == "ok"
    names = [r[0] for r in pg.execute(
        f'select record->>\'username\' from "{STAGING_SCHEMA}".subusers '  # noqa: S608
        "where tenant_id = 'acme' order by 1")]  # fmt: skip
    assert len(names) >= 2, names
    eu = names[0]
    message = "Unavailable due to data residency restrictions"
    configure(sim.base_url, paths=["/v3/user/account"], answer_status=451, answer_message=message,
              on_behalf_of=eu)  # fmt: skip
    try:
        outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("user_account"))
        assert outcome.status == "ok", outcome
        assert f"{eu} (451: data in another region" in outcome.detail
        read = {row[0] for row in pg.execute(
            f'select subuser from "{STAGING_SCHEMA}".user_account where tenant_id = %s',  # noqa: S608
            ["acme"])}  # fmt: skip
        assert read == {"", *names[1:]}
        configure(sim.base_url, paths=["/v3/user/account"], answer_status=451,
                  answer_message=message)  # fmt: skip
        outcome = extractor(acme, pg, run="r3").run_stream(catalog.get("user_account"))
        assert outcome.status == "error", outcome
        assert message in outcome.detail
    finally:
        configure(sim.base_url)


def test_a_narrower_subusers_filter_keeps_the_other_subusers_rows(sim, acme, pg, monkeypatch):
    """Rows of subusers the connection's filter now leaves out are not this snapshot's: they
    stay current (before, narrowing ``subusers`` marked every other subuser's rows deleted)."""
    ex = extractor(acme, pg)
    for name in ("subusers", "api_keys"):
        assert ex.run_stream(catalog.get(name)).status == "ok"
    names = sorted({k.split("/")[0] for k in current_keys(pg, "api_keys")} - {""})
    assert len(names) >= 2, names
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    monkeypatch.setenv("AIRFLOW_CONN_ACME", connection_json(sim, 0, subusers=[names[0]]))
    narrowed = SendGridHook(sendgrid_conn_id="acme")
    assert narrowed.subusers_filter == [names[0]]
    outcome = extractor(narrowed, pg, run="r2").run_stream(catalog.get("api_keys"))
    assert outcome.status == "ok", outcome
    assert not any(current_keys(pg, "api_keys", names[1]).values())  # left out, not deleted
    assert current_keys(pg, "api_keys", names[1])
    narrowed.close()


def test_a_unit_whose_every_parent_is_gone_keeps_its_rows(sim, acme, pg) -> None:
    """A fan-out unit whose every parent id answers 404 while the parent list still holds them
    was refused, not emptied: its rows stay current and the stream's detail names it (one
    vanished parent among others, or ids the list no longer holds, are deletions)."""
    from sendgrid_simulator.hostile import configure

    ex = extractor(acme, pg)
    for name in ("subusers", "templates", "template_versions"):
        assert ex.run_stream(catalog.get(name)).status == "ok"
    versions = current_keys(pg, "template_versions")
    sub = next(k.split("/")[0] for k in sorted(versions) if not k.startswith("/"))
    configure(sim.base_url, paths=["/v3/templates/"], answer_status=404,
              answer_message="resource not found", on_behalf_of=sub)  # fmt: skip
    try:
        outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("template_versions"))
    finally:
        configure(sim.base_url)
    assert outcome.status == "ok", outcome
    assert f"{sub} (every templates id answered 404; the templates list still holds" in (
        outcome.detail
    )
    kept = current_keys(pg, "template_versions", sub)
    assert kept
    assert not any(kept.values())


def test_a_snapshot_record_rejected_this_run_stays_current(sim, acme, pg) -> None:
    """A record read but rejected (here nested 5,000 levels deep) still exists in SendGrid: its
    stored version stays current instead of being marked deleted."""
    ex = extractor(acme, pg)
    assert ex.run_stream(catalog.get("teammates")).status == "ok"
    before = current_keys(pg, "teammates", "")
    username = sorted(before)[0].split("/", 1)[1]
    tenant = sim.accounts["tenants"][0]["tenant_id"]
    sim.control.poison(tenant, "teammates", username, "deep")
    try:
        outcome = extractor(acme, pg, run="r2").run_stream(catalog.get("teammates"))
    finally:
        sim.control.clear_poisons()
    assert outcome.rejected == 1, outcome
    assert current_keys(pg, "teammates", "") == before  # every key current, none deleted
