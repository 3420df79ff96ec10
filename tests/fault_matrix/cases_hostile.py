"""Rows of the fault matrix: a broken or hostile server, and secrets echoed back."""

from __future__ import annotations

import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fault_matrix.case_registry import BOUNCES, S, case, others_loaded
from tests.fault_matrix.harness import Matrix


# ----- a broken or hostile server (switches of the `hostile` branch) ----------------------------
class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        """Silence."""

    def do_GET(self) -> None:
        """Record and answer an empty list."""
        _Recorder.seen.append({"path": self.path, "headers": dict(self.headers)})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")

    do_POST = do_GET


def _failed_alone(m: Matrix, stream: str, switches: dict[str, Any], **extra: Any) -> str:
    m.connect(**extra)
    m.hostile(**switches)
    started = time.monotonic()
    ends = m.run("r1")
    seconds = time.monotonic() - started
    assert all(e in ("loaded", f"streams failed: {stream}") for e in ends.values()), ends
    detail = m.status("acme", stream).get("detail") or ""
    assert m.status("acme", stream)["status"] == "error", detail
    assert m.health("acme")["status"] == "degraded"
    m.hostile()  # the server behaves again: the rerun converges
    others_loaded(m.run("r2"))
    detail = textwrap.shorten(detail, 90, placeholder=" …")  # whole words
    return (f"{stream} 'error' ({detail}), the rest loads ({seconds:.0f}s); degraded; the "
            "rerun after the server recovers converges")  # fmt: skip


@case("redirect to another origin", "hostile")
def redirect(m: Matrix) -> str:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        other = f"http://127.0.0.1:{server.server_address[1]}"
        out = _failed_alone(m, "blocks", {"redirect_to": other,
                                          "paths": ["/v3/suppression/blocks"]})  # fmt: skip
    finally:
        server.shutdown()
    leaked = [r for r in _Recorder.seen if "Authorization" in r["headers"]]
    assert leaked == [], leaked
    return out + f"; other origin got {len(_Recorder.seen)} request(s), no credential"


@case("body trickled past the request deadline", "hostile")
def trickle(m: Matrix) -> str:
    return _failed_alone(m, "blocks", {"trickle_seconds": 6, "paths": ["/v3/suppression/blocks"]},
                         request_timeout=2, max_retries=1)  # fmt: skip


@case("Retry-After: 1000000", "hostile")
def retry_after(m: Matrix) -> str:
    return _failed_alone(m, "blocks", {"retry_after": "1000000",
                                       "paths": ["/v3/suppression/blocks"]})  # fmt: skip


@case("X-RateLimit-Reset in the year 2100", "hostile")
def reset_2100(m: Matrix) -> str:
    m.connect(max_wait=1)
    m.hostile(ratelimit_reset=4102444800, paths=["/v3/alerts"])
    started = time.monotonic()
    others_loaded(m.run("r1"))
    seconds = time.monotonic() - started
    assert seconds < 120, seconds
    return f"waits capped (max_wait=1 s); every stream ok in {seconds:.0f}s"


@case("next link forever with empty pages", "hostile")
def endless(m: Matrix) -> str:
    m.connect()
    m.hostile(endless_next=True, paths=["/v3/templates"])
    others_loaded(m.run("r1"))
    templates = m.status("acme", "templates")
    assert templates["status"] == "ok"
    assert templates["requests"] < 50, templates
    return f"stops at the empty page ({templates['requests']} requests for acme templates)"


@case("response body over the size cap", "hostile")
def body_cap(m: Matrix) -> str:
    return _failed_alone(m, "blocks", {"pad_bytes": 12_000_000,
                                       "paths": ["/v3/suppression/blocks"]},
                         max_response_bytes=8_000_000)  # fmt: skip


@case("two runs of one tenant at once", "hostile")
def concurrent(m: Matrix) -> str:
    from sendgrid_elt.extract_load import load_tenant, prepare_staging

    m.connect()
    prepare_staging()
    ends: dict[str, str] = {}

    def one(run_id: str) -> None:
        ends[run_id] = m.run_one("acme", run_id, load_tenant, lock_wait=0.5)

    threads = [threading.Thread(target=one, args=(f"run{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    kinds = sorted(e.split(":")[0] for e in ends.values())
    assert kinds in (["loaded", "skipped"], ["loaded", "loaded"]), ends
    m.run("r3", ["bluebird", "cedar"])
    with m.db() as conn:
        deleted = conn.execute(f"select count(*) from {S}.teammates where deleted_at is not null"  # noqa: S608
                               ).fetchone()[0]  # fmt: skip
    assert deleted == 0
    second = "skipped (lock held)" if "skipped" in kinds else "waited for the lock"
    return f"second run {second}; no live row marked deleted"


@case("43-character secret echoed on its own", "secrets")
def secret_alone(m: Matrix) -> str:
    secret = m.sim.accounts["tenants"][0]["api_keys"]["full"].split(".")[2]
    assert len(secret) == 43
    m.connect()
    key = m.pick_key("acme", BOUNCES, 2)
    m.sim.control.poison(m.tenant_id("acme"), "bounces", key, "garbage_cursor", value=secret)
    loaded = _echo_in_a_loaded_record(m, secret)
    others_loaded(m.run("r1"))
    [reject] = m.rejects()
    texts = [reject["reason"], str(m.status("acme", "bounces")), str(m.health("acme"))]
    assert not [t for t in texts if secret in t or secret[:21] in t or secret[21:] in t], texts
    assert m.record("acme", "bounces", loaded)["reason"] == "550 echo *** end"  # loaded, masked
    held = _tables_holding(m, [secret, secret[:21], secret[21:]])
    assert held == [], held  # rejects.raw, the staged record, stream_status, health, state
    return ("the key's 43-character secret part echoed in a record: masked in the reject "
            "reason and raw text, in a record that loads, stream_status and health; no table "
            "holds it")  # fmt: skip


def _echo_in_a_loaded_record(m: Matrix, secret: str) -> str:
    """Serve one loadable bounce of acme with ``secret`` inside its ``reason``; its key."""
    loaded = m.pick_key("acme", BOUNCES, 4)
    poisoner = m.sim.app.v3.poisoner
    poisoned = poisoner._poisoned

    def echo(record: dict, poison: Any, field: str) -> Any:
        out = poisoned(record, poison, field)
        return {**out, "reason": f"550 echo {secret} end"} if poison.key == loaded else out

    m.monkeypatch.setattr(poisoner, "_poisoned", echo)
    m.sim.control.poison(m.tenant_id("acme"), "bounces", loaded, "string_cursor")
    return loaded


def _tables_holding(m: Matrix, needles: list[str]) -> list[str]:
    """The staging tables (and columns' text) holding any of ``needles``."""
    with m.db() as conn:
        query = "select table_name from information_schema.tables where table_schema = %s"
        tables = [r[0] for r in conn.execute(query, (S,))]
        return [t for t in tables if conn.execute(
            f'select exists (select 1 from {S}."{t}" x where '  # noqa: S608
            + " or ".join(["strpos(x::text, %s) > 0"] * len(needles)) + ")",
            needles).fetchone()[0]]  # fmt: skip


@case("one subuser's reads answer 500 on every retry", "hostile")
def one_subuser_down(m: Matrix) -> str:
    sub = m.sim.accounts["tenants"][0]["subusers"][0]
    m.connect(max_retries=1)
    m.hostile(paths=[BOUNCES], answer_status=500, answer_message="internal error",
              on_behalf_of=sub)  # fmt: skip
    ends = m.run("r1")
    others_loaded(ends, "acme")
    assert ends["acme"] == "streams failed: bounces", ends
    detail = m.status("acme", "bounces").get("detail") or ""
    assert f"units failed, rows kept, cursor kept: {sub} (" in detail, detail
    with m.db() as conn:
        query = f"select subuser from {S}.sync_state where tenant_id = 'acme' and stream = %s"  # noqa: S608
        read = {r[0] for r in conn.execute(query, ("bounces",))}
    units = {"", *m.sim.accounts["tenants"][0]["subusers"]}
    assert read == units - {sub}, read  # every other unit read, its cursor saved
    assert m.health("acme")["status"] == "degraded"
    m.hostile()
    others_loaded(m.run("r2"))
    return (f"that subuser named in bounces' error, its cursor kept; the parent and the other "
            f"{len(units) - 2} subusers load; degraded; the rerun converges")  # fmt: skip
