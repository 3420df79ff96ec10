"""A broken or hostile server cannot hold the hook, nor lure its credentials elsewhere.

Real HTTP throughout: the simulator with its hostile switches (``sendgrid_simulator.hostile``)
and, as "another origin", a tiny recording server on another port. Each case runs in a guard
thread, so a regression (a 1,200 s wait) fails after seconds instead of hanging the suite.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sendgrid_hook.errors import (
    SendGridFatalError,
    SendGridResponseTooLargeError,
    SendGridRetriableError,
    SendGridTimeBudgetExceededError,
)
from sendgrid_hook.hooks.sendgrid import SendGridHook

from sendgrid_simulator.hostile import configure
from tests.hook.conftest import TEST_CONN, api_key_conn, oauth_conn, oauth_connect

TEMPLATES = "/v3/templates"
PARAMS = {"generations": "legacy,dynamic", "page_size": 2}


class Recorder(BaseHTTPRequestHandler):
    """Another origin: records every request it gets and answers an empty JSON list."""

    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        """Silence the access log."""

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("latin-1") if length else ""
        Recorder.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers),
             "body": body}
        )  # fmt: skip
        payload = b'{"result": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _record


@pytest.fixture
def other_origin() -> Iterator[str]:
    """URL of the recording server (same host, another port: another origin)."""
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def within(seconds: float, fn: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    """Run ``fn`` in a thread; fail the test if it is not done after ``seconds``."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    elapsed = time.monotonic() - start
    assert not thread.is_alive(), f"still running after {seconds} s: the hook is being held"
    return out.get("value"), out.get("error"), elapsed


def _hook(sim: Any, tenant: dict, set_conn: Any, **extra: Any) -> SendGridHook:
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"], **extra))
    return SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01, backoff_max=0.05)


# -- redirects ---------------------------------------------------------------------------
def test_api_redirect_to_another_origin_is_refused(
    sim: Any, tenant: dict, set_conn: Any, other_origin: str
) -> None:
    hook = _hook(sim, tenant, set_conn)
    configure(sim.base_url, paths=[TEMPLATES], redirect_to=other_origin, redirect_status=307)
    _, error, _ = within(30, lambda: hook.get_json(TEMPLATES, PARAMS))
    assert Recorder.seen == [], f"the other origin got {Recorder.seen}"
    assert isinstance(error, SendGridFatalError), error
    assert "redirect to another origin" in str(error)
    assert tenant["api_keys"]["full"] not in str(error)
    assert hook.get_json("/v3/user/account")  # the rest of the API still answers


def test_token_refresh_redirect_never_resends_the_refresh_token(
    sim: Any, tenant: dict, set_conn: Any, other_origin: str, airflow_home: Any, warehouse: Any
) -> None:
    from airflow.models import Variable
    from sendgrid_hook.auth.token_store import VARIABLE_PREFIX

    token = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"]))
    configure(sim.base_url, token_redirect_to=other_origin)
    try:
        hook = SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01)
        _, error, _ = within(60, lambda: hook.get_json("/v3/user/account"))
    finally:
        Variable.delete(VARIABLE_PREFIX + TEST_CONN)
    assert Recorder.seen == [], f"the other origin got: {[r['body'][:60] for r in Recorder.seen]}"
    assert isinstance(error, SendGridFatalError), error
    assert "not followed" in str(error)
    assert token["refresh_token"] not in str(error)


def test_trickled_token_response_ends_at_the_request_deadline(
    sim: Any, tenant: dict, set_conn: Any, airflow_home: Any, warehouse: Any
) -> None:
    from airflow.models import Variable
    from sendgrid_hook.auth.token_store import VARIABLE_PREFIX

    token = oauth_connect(sim, tenant)
    set_conn(TEST_CONN, oauth_conn(sim, tenant, token["refresh_token"], request_timeout=2))
    # the answer trickles for 20 s: a call ending well before (the 2 s deadline, plus the
    # hook's own start-up on a busy machine) was cut at the deadline, not by the server
    configure(sim.base_url, paths=["/oauth/token"], trickle_seconds=20)
    try:
        hook = SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01)
        _, error, elapsed = within(60, lambda: hook.get_json("/v3/user/account"))
    finally:
        Variable.delete(VARIABLE_PREFIX + TEST_CONN)
    assert isinstance(error, SendGridRetriableError), error
    assert "OAuth token refresh" in str(error)
    assert elapsed < 10, f"the token request took {elapsed:.1f} s with a 2 s deadline"


# -- one request cannot last forever ---------------------------------------------------------
def test_trickled_body_ends_at_the_whole_request_deadline(
    sim: Any, tenant: dict, set_conn: Any
) -> None:
    hook = _hook(sim, tenant, set_conn, read_timeout=2, request_timeout=2, max_retries=0)
    hook.get_json("/v3/scopes")  # connection warmed up; the next body trickles for 20 s
    configure(sim.base_url, paths=[TEMPLATES], trickle_seconds=20)
    _, error, elapsed = within(60, lambda: hook.get_json(TEMPLATES, PARAMS))
    assert isinstance(error, SendGridRetriableError), error
    assert "within 2 s (request_timeout)" in str(error)
    assert elapsed < 10, f"one request took {elapsed:.1f} s with a 2 s deadline"


def test_time_budget_stops_requests_and_waits_at_its_end(
    sim: Any, tenant: dict, set_conn: Any
) -> None:
    hook = _hook(sim, tenant, set_conn, max_retries=5, time_budget=1.5)  # the connection's cap
    configure(sim.base_url, paths=[TEMPLATES], trickle_seconds=8)
    _, error, elapsed = within(30, lambda: hook.get_json(TEMPLATES, PARAMS))
    assert isinstance(error, SendGridTimeBudgetExceededError), error
    assert elapsed < 3
    _, again, elapsed = within(5, lambda: hook.get_json("/v3/user/account"))
    assert isinstance(again, SendGridTimeBudgetExceededError)
    assert elapsed < 0.5
    assert "time budget of 1.5 s is used up" in str(again)
    assert hook.set_time_budget(60) == 1.5  # a task's budget never raises the connection's


# -- waits are capped ----------------------------------------------------------------------
def test_huge_retry_after_is_not_waited_for(sim: Any, tenant: dict, set_conn: Any) -> None:
    hook = _hook(sim, tenant, set_conn, max_wait=5)
    configure(sim.base_url, paths=[TEMPLATES], retry_after=1_000_000)
    _, error, elapsed = within(30, lambda: hook.get_json(TEMPLATES, PARAMS))
    assert isinstance(error, SendGridRetriableError), error
    assert "1000000 s (Retry-After)" in str(error)
    assert "max_wait" in str(error)
    assert elapsed < 3
    assert hook.transport.request_count == 1  # not retried into the same wall


def test_a_retry_after_http_date_is_waited_for_or_given_up_on_like_seconds(
    sim: Any, tenant: dict, set_conn: Any
) -> None:
    """``Retry-After: <HTTP date>`` (RFC 9110): a date 30 s ahead is waited for (the waits are
    recorded, not slept), one 11 days ahead is over the ``max_wait`` cap: not retried."""
    hook = _hook(sim, tenant, set_conn)
    sleeps: list[float] = []
    hook.transport.sleep = sleeps.append  # record the waits instead of waiting them
    configure(
        sim.base_url, paths=[TEMPLATES], retry_after=formatdate(time.time() + 30, usegmt=True)
    )
    _, error, _ = within(30, lambda: hook.get_json(TEMPLATES, PARAMS))
    assert isinstance(error, SendGridRetriableError), error
    assert 25 < max(sleeps) <= 31, sleeps
    hook = _hook(sim, tenant, set_conn, max_wait=5)
    far = formatdate(time.time() + 1_000_000, usegmt=True)
    configure(sim.base_url, paths=[TEMPLATES], retry_after=far)
    _, error, elapsed = within(30, lambda: hook.get_json(TEMPLATES, PARAMS))
    assert isinstance(error, SendGridRetriableError), error
    assert "(Retry-After), over the 5 s cap (max_wait): not retried" in str(error)
    assert hook.transport.request_count == 1
    assert elapsed < 3


def test_a_bare_429_backs_off_exponentially(
    sim: Any, tenant: dict, set_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 naming neither ``Retry-After`` nor a reset is not retried every second until the
    retries run out: it backs off like a 5xx (full-jitter exponential, up to ``backoff_max``)."""
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"]))
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)  # default backoff: 0.5 s x 2^n, max 30 s
    sleeps: list[float] = []
    hook.transport.sleep = sleeps.append  # record the waits instead of waiting them
    configure(sim.base_url, paths=["/v3/user/account"], answer_status=429,
              answer_message="too many requests")  # fmt: skip
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # jitter at its ceiling
    with pytest.raises(SendGridRetriableError, match="too many requests"):
        hook.get_json("/v3/user/account")
    assert hook.transport.request_count == 6  # the first attempt and 5 retries
    # the 5th retry waits 0.5 s x 2^4 (before: about 1 s each time, whatever the attempt)
    assert max(sleeps) == pytest.approx(8.0), sleeps


def test_a_test_a_person_waits_on_never_waits_out_a_long_rate_limit(
    sim: Any, tenant: dict, set_conn: Any
) -> None:
    """The Test button (and the Connect page's check) run in a web request: a 429 asking to wait
    100 s (under the 120 s cap a task accepts) answers "try again later" at once. Before, the
    test waited 100 s five times over, past any proxy's timeout."""
    hook = _hook(sim, tenant, set_conn)
    sleeps: list[float] = []
    hook.transport.sleep = sleeps.append  # record the waits instead of waiting them
    configure(sim.base_url, paths=["/v3/scopes"], retry_after=100)
    ok, message = hook.test_connection()
    assert not ok
    assert "could not finish within 20 s" in message
    assert "try again later" in message
    assert sleeps == []
    assert hook.transport.request_count == 1


def test_the_connect_pages_check_of_a_saved_credential_is_bounded_too(
    sim: Any, tenant: dict, set_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OAuth callback and the key form check the saved credential inside the request:
    a rate-limited SendGrid ends the check within the budget (the page says the check failed
    and the run checks again), instead of holding the callback for minutes."""
    from sendgrid_connect import health

    monkeypatch.setattr(health, "INTERACTIVE_TIME_BUDGET_SECONDS", 0.5, raising=False)
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"]))
    configure(sim.base_url, paths=["/v3/scopes"], retry_after=2)
    check = health.record_check(TEST_CONN)
    assert check.failed == "SendGridTimeBudgetExceededError"


def test_a_warehouse_connection_that_cannot_be_read_fails_the_check_not_skips_it(
    sim: Any, tenant: dict, set_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Connect page's check after a saved credential: a warehouse connection that cannot be
    read was "no warehouse configured: health not recorded" (the page said "Connected", the
    health row waited for the next run); now the check failed, and says why."""
    from sendgrid_connect import health

    from sendgrid_elt.warehouse import WAREHOUSE_CONN_ENV

    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"]))
    monkeypatch.setenv(WAREHOUSE_CONN_ENV, '{"conn_type": "postgres", "host": ')  # cut short
    check = health.record_check(TEST_CONN, counted_by=False)
    assert check.failed == "UnreadableError", check
    assert "no warehouse configured" not in check.note
    assert health.read_all() is None  # the page's health column: unknown, never "never"


def test_rate_limit_reset_in_2100_does_not_stall_requests(
    sim: Any, tenant: dict, set_conn: Any
) -> None:
    hook = _hook(sim, tenant, set_conn)
    configure(sim.base_url, ratelimit_reset=4_102_444_800)  # 2100-01-01, remaining 0

    def five_requests() -> int:
        for _ in range(5):
            hook.get_json("/v3/user/account")
        return hook.transport.request_count

    count, error, elapsed = within(30, five_requests)
    assert error is None
    assert count == 5
    assert elapsed < 3, f"{elapsed:.0f} s for five requests"
    assert hook.transport.limiter.waited == 0


# -- pagination and body size ---------------------------------------------------------------
def _templates(hook: SendGridHook) -> list[dict]:
    return list(hook.iter_records(TEMPLATES, pagination="metadata_next", records_path="result",
                                  params=PARAMS, page_size=2))  # fmt: skip


def test_endless_next_links_to_empty_pages_stop_at_the_first_empty_page(
    sim: Any, tenant: dict, set_conn: Any
) -> None:
    expected = _templates(_hook(sim, tenant, set_conn))
    configure(sim.base_url, paths=[TEMPLATES], endless_next=True)
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN, max_pages=500)
    records, error, _ = within(120, lambda: _templates(hook))
    assert error is None, error
    assert records == expected
    pages_with_records = -(-len(expected) // 2)
    assert hook.request_count == pages_with_records + 1  # the one empty page, then stop


def test_oversized_body_fails_clearly(sim: Any, tenant: dict, set_conn: Any) -> None:
    hook = _hook(sim, tenant, set_conn, max_response_bytes=1024 * 1024)
    configure(sim.base_url, paths=[TEMPLATES], pad_bytes=3 * 1024 * 1024)
    _, error, _ = within(30, lambda: hook.get_json(TEMPLATES, PARAMS))
    assert isinstance(error, SendGridResponseTooLargeError), error
    assert "over the 1,048,576-byte cap (max_response_bytes" in str(error)
    assert hook.transport.request_count == 1  # fatal: not retried
    assert hook.get_json("/v3/user/account")  # other paths are unaffected
