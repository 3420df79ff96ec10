"""Rows of the fault matrix: bad input that once stopped a whole tenant outside its streams.

An error text PostgreSQL cannot store (NUL, a lone surrogate), a ``Date`` header at the end of
the calendar, a stored cursor that is not a JSON object: each is one stream's (or one cursor's)
problem, so the tenant's other streams load, the stream says what happened, and the health is
``degraded`` with one alert.
"""

from __future__ import annotations

from sendgrid_elt.catalog import STREAMS
from tests.fault_matrix.case_registry import S, case, others_loaded
from tests.fault_matrix.harness import Matrix

BLOCKS = "/v3/suppression/blocks"
#: A NUL and a lone UTF-16 surrogate: ``text`` and ``jsonb`` hold neither.
UNSTORABLE = "bad\u0000byte and \ud800 half"


def _next_stream(stream: str) -> str:
    names = [s.name for s in STREAMS]
    return names[names.index(stream) + 1]


def _one_stream_failed(m: Matrix, stream: str, ends: dict[str, str]) -> str:
    """``stream`` failed in every tenant that reads it; the others loaded; one alert each."""
    assert all(e in ("loaded", f"streams failed: {stream}") for e in ends.values()), ends
    status = m.status("acme", stream)
    assert status["status"] == "error", status
    after = _next_stream(stream)
    assert m.status("acme", after)["status"] == "ok", m.status("acme", after)
    health = m.health("acme")
    assert (health["status"], health["alerts_sent"]) == ("degraded", 1), health
    assert health["stream_problems"][stream]["kind"] == "failed", health
    return status["detail"] or ""


@case("error message with NUL and a lone surrogate", "hostile")
def unstorable_error(m: Matrix) -> str:
    m.connect(max_retries=0)
    m.hostile(paths=[BLOCKS], answer_status=500, answer_message=UNSTORABLE)
    detail = _one_stream_failed(m, "blocks", m.run("r1"))
    assert "bad\\x00byte and \\ud800 half" in detail, detail  # visible, not dropped
    assert "\x00" not in detail
    m.hostile()
    others_loaded(m.run("r2"))
    health = m.health("acme")
    assert (health["alerts_sent"], health["alert_kind"]) == (2, "resolved"), health
    return ("blocks 'error' (500, message shown with \\x00 and \\ud800 escapes), the "
            "streams after it load; degraded, 1 alert; the rerun converges (1 resolved "
            "notice)")  # fmt: skip


@case("_metadata.next link holding NUL", "hostile")
def unstorable_next(m: Matrix) -> str:
    from sendgrid_simulator import hostile

    nul_host = "http://a\x00b.example/v3/templates?page={}"
    m.monkeypatch.setattr(hostile, "_next_url", lambda *a: nul_host.format(a[-1]))
    m.connect(max_retries=0)
    m.hostile(endless_next=True, paths=["/v3/templates"])
    detail = _one_stream_failed(m, "templates", m.run("r1"))
    assert "another host (http://a\\u0000b.example)" in detail, detail
    m.hostile()
    others_loaded(m.run("r2"))
    return ("templates 'error' (refusing to follow a URL on another host (http://a\\u0000b"
            ".example)), the streams after it load; degraded, 1 alert")  # fmt: skip


@case("Date header in the year 9999", "hostile")
def date_9999(m: Matrix) -> str:
    world = m.sim.app.world
    clock = world.http_now
    m.monkeypatch.setattr(world, "http_now", lambda: 253402300799.0)  # 9999-12-31 23:59:59
    m.connect()
    ends = m.run("r1")
    assert not [e for e in ends.values() if e.startswith("aborted")], ends
    failed = sorted({s for e in ends.values() if e.startswith("streams failed: ")
                     for s in e.removeprefix("streams failed: ").split(", ")})  # fmt: skip
    assert failed
    assert set(failed) <= {s.name for s in STREAMS if s.mode == "date_window"}, failed
    for stream in failed:
        assert m.status("acme", stream).get("detail"), stream
    assert m.status("acme", "bounces")["status"] == "ok"
    health = m.health("acme")
    assert (health["status"], health["alerts_sent"]) == ("degraded", 1), health
    m.monkeypatch.setattr(world, "http_now", clock)  # the time again: the rerun converges
    others_loaded(m.run("r2"))
    return (
        f"no tenant aborted; the {len(failed)} date-window streams 'error' (the windows of a "
        "year-9999 clock: 400 from the API, or year 10000 out of range), the others load; the "
        "rerun with a sane clock converges"
    )


@case("stored cursor that is not a JSON object", "cursors")
def scalar_cursor(m: Matrix) -> str:
    m.connect()
    others_loaded(m.run("r1"))
    bad = {"bounces": "5", "blocks": '"x"', "unsubscribes": "[1]"}
    with m.db() as conn:
        for stream, value in bad.items():
            conn.execute(f"update {S}.sync_state set cursor = %s::jsonb "  # noqa: S608
                         "where tenant_id = 'acme' and stream = %s", (value, stream))  # fmt: skip
    m.sim.control.advance(days=1)
    others_loaded(m.run("r2"))
    for stream in bad:
        status = m.status("acme", stream)
        assert status["status"] == "ok", status
        assert "stored cursor ignored" in (status["detail"] or ""), status
    with m.db() as conn:
        kinds = conn.execute(f"select distinct jsonb_typeof(cursor) from {S}.sync_state "  # noqa: S608
                             "where tenant_id = 'acme' and stream = any(%s)",
                             (list(bad),)).fetchall()  # fmt: skip
    assert kinds == [("object",)], kinds  # replaced by the rerun's cursors
    assert m.not_ok() == {}
    return "ignored (named in stream_status), units re-read from the start; every stream ok"
