"""Rows of the fault matrix: bad data in a record, bad cursors, resilience (faults, SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

from sendgrid_elt.catalog import STREAMS
from tests.fault_matrix.case_registry import BOUNCES, S, case, others_loaded
from tests.fault_matrix.harness import Matrix


# ----- bad data inside a record ---------------------------------------------------------------
def _repaired(m: Matrix, kind: str, check: Callable[[Any], bool]) -> str:
    m.connect()
    key = m.pick_key("acme", BOUNCES, 3)
    m.sim.control.poison(m.tenant_id("acme"), "bounces", key, kind)
    others_loaded(m.run("r1"))
    status = m.status("acme", "bounces")
    assert (status["status"], status["repaired"]) == ("ok", 1), status
    stored = m.record("acme", "bounces", key)
    assert check(stored), stored
    assert m.rejects() == []
    assert m.health("acme")["status"] == "connected"
    return f"loaded, value replaced and counted (stream_status.repaired=1: {status['detail']})"


@case("NUL (\\u0000) in a string")
def nul(m: Matrix) -> str:
    return _repaired(m, "nul", lambda r: r["poison"] == "before\ufffdafter")


@case("lone UTF-16 surrogate")
def surrogate(m: Matrix) -> str:
    return _repaired(m, "surrogate", lambda r: r["poison"] == "lone \ufffd surrogate")


@case("NaN / Infinity")
def nan(m: Matrix) -> str:
    return _repaired(m, "nan", lambda r: r["poison"] is None and r["poison_inf"] is None)


def _rejected(m: Matrix, kind: str, expect_key: bool, reason: str, stream: str = "bounces") -> str:
    """One unloadable record: a rejects row, the stream loads, degraded and one alert.

    Suppressions are incremental: the next run does not read the record again, so the tenant
    is ``connected`` again (the rejects row stays). Snapshot streams read it on every run: the
    tenant stays ``degraded`` with no second alert.
    """
    m.connect()
    if stream == "bounces":
        key = m.pick_key("acme", BOUNCES, 5)
    else:
        key = m.pick_key("acme", "/v3/teammates", 1, field="username")
    m.sim.control.poison(m.tenant_id("acme"), stream, key, kind)
    others_loaded(m.run("r1"))
    status = m.status("acme", stream)
    assert (status["status"], status["rejected"]) == ("ok", 1), status
    [reject] = m.rejects()
    assert (reject["tenant_id"], reject["stream"], reject["subuser"]) == ("acme", stream, "")
    assert reject["record_key"] == (key if expect_key else None), reject
    assert reject["reason"].startswith(reason), reject["reason"]
    assert reject["raw"]
    assert reject["run_id"] == "r1"
    health = m.health("acme")
    assert (health["status"], health["alerts_sent"]) == ("degraded", 1), health
    others_loaded(m.run("r2"))
    again = m.health("acme")
    snapshot = stream != "bounces"
    # never a second alert for the same problem; one "resolved" notice once it is over
    told = (1, "degraded") if snapshot else (2, "resolved")
    assert (again["alerts_sent"], again["alert_kind"]) == told, again
    assert again["status"] == ("degraded" if snapshot else "connected"), again
    assert [r["times_seen"] for r in m.rejects()] == [2 if snapshot else 1]
    after = ("still degraded, no 2nd alert" if snapshot
             else "record not re-read: connected, 1 resolved notice")  # fmt: skip
    return (f"{stream}: rejects row (key {'kept' if expect_key else 'none'}: {reason}), the "
            f"stream loads; degraded, 1 alert; run 2: {after}")  # fmt: skip


@case("JSON nested 5,000 levels")
def deep(m: Matrix) -> str:
    return _rejected(m, "deep", True, "value nested deeper", stream="teammates")


@case("record without its primary key")
def missing_key(m: Matrix) -> str:
    return _rejected(m, "missing_key", False, "primary key field missing: email")


@case("record that is not a JSON object")
def not_object(m: Matrix) -> str:
    return _rejected(m, "not_object", False, "record not an object", stream="teammates")


@case("cursor value '9999-garbage'", "cursors")
def garbage_cursor(m: Matrix) -> str:
    out = _rejected(m, "garbage_cursor", True, "cursor created: unparseable value")
    m.sim.control.advance(days=1)
    others_loaded(m.run("r3"))
    cursor = _cursor(m, "acme", "bounces")
    assert isinstance(cursor, int), cursor
    return out + "; later runs load new days"


def _cursor(m: Matrix, conn_id: str, stream: str, subuser: str = "") -> Any:
    with m.db() as conn:
        row = conn.execute(
            f"select cursor->'value' from {S}.sync_state where tenant_id = %s "  # noqa: S608
            "and stream = %s and subuser = %s",
            (conn_id, stream, subuser),
        )
        return row.fetchone()[0]


@case("cursor values of mixed int/str", "cursors")
def mixed_cursor(m: Matrix) -> str:
    m.connect()
    for i in (1, 2):
        key = m.pick_key("acme", BOUNCES, i)
        m.sim.control.poison(m.tenant_id("acme"), "bounces", key, "string_cursor")
    others_loaded(m.run("r1"))
    assert m.status("acme", "bounces")["status"] == "ok"
    assert m.rejects() == []
    return "parsed as the declared epoch type, no TypeError; all loaded"


@case("record dated in the future", "cursors")
def future_date(m: Matrix) -> str:
    m.connect()
    key = m.pick_key("acme", BOUNCES, 7)
    m.sim.control.poison(m.tenant_id("acme"), "bounces", key, "future_date")
    others_loaded(m.run("r1"))
    status = m.status("acme", "bounces")
    assert "cursor values beyond the API's clock not adopted" in (status["detail"] or ""), status
    assert m.record("acme", "bounces", key) is not None  # the record itself is loaded
    m.sim.control.advance(days=2)  # new bounces are written after the cursor ...
    others_loaded(m.run("r2"))  # ... and read: the future date did not move the cursor
    lost, notes = m.lost()
    assert lost == 0, notes
    return "record loaded, cursor not moved past real data; 2 days later every new record read"


@case("stored cursor poisoned by an older version", "cursors")
def stored_cursor(m: Matrix) -> str:
    m.connect()
    others_loaded(m.run("r1"))
    with m.db() as conn:
        conn.execute(f"""update {S}.sync_state set cursor = case stream
                         when 'bounces' then '{{"value": "9999-garbage"}}'::jsonb
                         else '{{"value": 4102444800}}'::jsonb end
                         where tenant_id = 'acme' and stream in ('bounces', 'blocks')""")  # noqa: S608
    m.sim.control.advance(days=1)
    others_loaded(m.run("r2"))
    detail = m.status("acme", "bounces")["detail"] or ""
    assert "stored cursor ignored" in detail, detail
    assert "stored cursor ignored" in (m.status("acme", "blocks")["detail"] or "")
    return "ignored (logged in stream_status), units re-read from the start, nothing skipped"


@case("subuser name that is not Latin-1")
def non_latin1_subuser(m: Matrix) -> str:
    acme = m.sim.accounts["tenants"][0]
    new = m.sim.control.rename_subuser(acme["tenant_id"], acme["subusers"][1], "acme-李-02")
    assert "acme-李-02" in new
    m.connect()
    others_loaded(m.run("r1"))
    assert m.not_ok() == {}
    with m.db() as conn:
        query = f"select count(*) from {S}.bounces where subuser = %s"  # noqa: S608
        n = conn.execute(query, ("acme-李-02",)).fetchone()[0]
    assert n > 0
    return "on-behalf-of sent as UTF-8 bytes; the subuser's streams load"


@case("unexpected exception in one stream")
def unexpected(m: Matrix) -> str:
    from sendgrid_elt.records import Shaper

    original = Shaper.rows

    def broken(self: Shaper, records: Any, unit: str, parent: Any) -> Any:
        if self.spec.name == "blocks":
            raise KeyError("simulated bug in the blocks stream")
        return original(self, records, unit, parent)

    m.connect()
    m.monkeypatch.setattr(Shaper, "rows", broken)
    ends = m.run("r1")
    assert all(e == "streams failed: blocks" for e in ends.values()), ends
    status = m.status("acme", "blocks")
    assert status["status"] == "error"
    assert "KeyError: 'simulated bug" in status["detail"], status
    health = m.health("acme")
    assert (health["status"], health["alerts_sent"]) == ("degraded", 1), health
    assert health["stream_problems"]["blocks"]["kind"] == "failed"
    m.run("r2")
    assert m.health("acme")["alerts_sent"] == 1  # same failure again: no second alert
    m.monkeypatch.setattr(Shaper, "rows", original)
    others_loaded(m.run("r3"))
    assert m.health("acme")["status"] == "connected"
    others = len(STREAMS) - 1
    return (f"that stream 'error' with its reason, the {others} others load in every tenant; "
            "degraded, 1 alert over 2 runs; fixed run converges, health connected")  # fmt: skip


# ----- the existing promise -------------------------------------------------------------------
@case("10% 429/5xx/timeouts/drops/truncated bodies", "resilience")
def random_faults(m: Matrix) -> str:
    m.connect()
    m.sim.control.set_faults(
        "429=0.02,500=0.02,502=0.01,503=0.01,slow=0.01,drop=0.01,truncate=0.02",
        slow_seconds=2.5, burst=1,
    )  # fmt: skip
    others_loaded(m.run("r1"))
    faults = sum(m.sim.control.request_counts()["faults"].values())
    m.sim.control.clear_faults()
    assert faults > 10
    return f"{faults} faults injected, retried; every stream ok"


_CHILD = textwrap.dedent(
    """
    import sys, psycopg
    from sendgrid_hook.hooks.sendgrid import SendGridHook
    from sendgrid_elt.extract import TenantExtractor
    conninfo = sys.argv[1]
    hook = SendGridHook(sendgrid_conn_id="acme")
    with psycopg.connect(conninfo, autocommit=True) as pg:
        TenantExtractor(hook, pg, "acme", "killed", batch_size=50).run(
            ["subusers", "bounces", "blocks", "unsubscribes"])
    """
)


@case("worker killed (SIGKILL) mid-load, then rerun", "resilience")
def sigkill(m: Matrix) -> str:
    from sendgrid_elt.extract_load import prepare_staging

    m.connect()
    prepare_staging()
    child = subprocess.Popen([sys.executable, "-c", _CHILD, m.warehouse.conninfo()],
                             env=os.environ.copy(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    deadline, committed = time.monotonic() + 90, 0
    try:
        while time.monotonic() < deadline and committed < 300:
            with m.db() as conn:
                committed = conn.execute(f"select count(*) from {S}.bounces").fetchone()[0]  # noqa: S608
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert committed >= 300, "the child made no progress"
    others_loaded(m.run("rerun"))
    with m.db() as conn:
        dupes = conn.execute(f"select count(*) - count(distinct (tenant_id, subuser, record_key)) "  # noqa: S608
                             f"from {S}.bounces").fetchone()[0]  # fmt: skip
    assert dupes == 0
    return f"killed after {committed} committed rows; rerun converges, none duplicated"
