"""Pacing survives a worker clock that is off: resets are read in the server's clock.

``X-RateLimit-Reset`` is a Unix time in the server's clock; the limiter estimates that clock's
offset from the ``Date`` header and converts each reset to the local clock. Unit tests drive
:class:`RateLimiter` with a fake clock; the last test runs a hook with a clock shifted by five
minutes (and one against a simulator whose clock is days away) over HTTP.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from typing import Any

import pytest
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_hook.rate_limit import RateLimiter

from sendgrid_simulator.testing import run_simulator
from tests.hook.conftest import TEST_CONN, api_key_conn

SERVER_NOW = 1_796_000_000  # 2026-11-30 (whole seconds: the Date header's resolution)
YEAR_2100 = 4_102_444_800
IGNORED = "ignoring X-RateLimit-Reset"


def http_date(seconds: float) -> str:
    """An RFC 7231 ``Date`` value."""
    return email.utils.formatdate(seconds, usegmt=True)


def answer(date: float | str | None, reset: int, remaining: int = 0) -> dict[str, str]:
    """Headers of a response: ``date`` as Unix seconds, a raw header value, or absent."""
    headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": str(remaining),
               "X-RateLimit-Reset": str(reset)}  # fmt: skip
    if date is not None:
        headers["Date"] = date if isinstance(date, str) else http_date(date)
    return headers


def limiter_at(local_now: float) -> RateLimiter:
    """A limiter whose local clock reads ``local_now``."""
    return RateLimiter(clock=lambda: local_now, sleep=lambda _s: None)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- the limiter alone, with a fake clock ----------------------------------------------------
def test_a_retry_after_beyond_the_cap_never_holds_the_endpoint_for_the_cap() -> None:
    """A 429 asking to wait 11 days is given up on by the transport; the endpoint's other
    requests (a fan-out's ids, the other subusers, which share its bucket) wait a second, not
    the 120 s cap each (a stream of 100 subusers took 100 x 120 s)."""
    limiter = limiter_at(SERVER_NOW)
    limiter.update("b", {"Retry-After": "1000000"}, 429)
    assert limiter.delay_for("b") <= 1.01
    limiter.update("c", {"Retry-After": "30"}, 429)  # under the cap: honoured
    assert limiter.delay_for("c") == pytest.approx(30.01)


def test_a_retry_after_given_as_an_http_date_is_honoured_within_the_cap() -> None:
    """RFC 9110 allows ``Retry-After: <HTTP date>``: it is read in the server's clock (from the
    response's ``Date``; the worker's clock is 5 min ahead here), else from the local clock,
    and capped like seconds. It was ignored: the endpoint waited 1 s, not the 30 asked for."""
    limiter = limiter_at(SERVER_NOW + 300)
    limiter.update("b", {"Date": http_date(SERVER_NOW),
                         "Retry-After": http_date(SERVER_NOW + 30)}, 429)  # fmt: skip
    assert limiter.delay_for("b") == pytest.approx(30.01)
    limiter = limiter_at(SERVER_NOW)
    limiter.update("c", {"Retry-After": http_date(SERVER_NOW + 20)}, 429)  # no Date: local
    assert limiter.delay_for("c") == pytest.approx(20.01)
    limiter.update("d", {"Retry-After": http_date(SERVER_NOW + 86_400)}, 429)  # over the cap
    assert limiter.delay_for("d") <= 1.01
    limiter.update("e", {"Retry-After": http_date(SERVER_NOW - 60)}, 429)  # past: no wait
    assert limiter.delay_for("e") <= 1.01


def test_clock_ahead_of_the_server_still_paces() -> None:
    """Local clock 5 min ahead: the reset (1 s away in the server's clock) is not in the past."""
    limiter = limiter_at(SERVER_NOW + 300.25)
    limiter.update("b", answer(SERVER_NOW, SERVER_NOW + 3), 200)
    assert limiter.seconds_until_reset("b") == pytest.approx(3.0)
    assert limiter.delay_for("b") == pytest.approx(3.01)  # the window's end, not at once
    assert limiter.clock_offset == pytest.approx(-300.25)


def test_clock_behind_the_server_still_paces(caplog: pytest.LogCaptureFixture) -> None:
    """Local clock 5 min behind: the reset is not beyond ``max_wait``, so it is not ignored."""
    limiter = limiter_at(SERVER_NOW - 300.0)
    with caplog.at_level(logging.WARNING, logger="sendgrid_hook.rate_limit"):
        limiter.update("b", answer(SERVER_NOW, SERVER_NOW + 1), 200)
    assert limiter.delay_for("b") == pytest.approx(1.01)
    assert not warnings_of(caplog)
    assert limiter.clock_offset == pytest.approx(300.0)


def test_a_429_waits_for_the_reset_in_the_local_clock() -> None:
    limiter = limiter_at(SERVER_NOW + 300.0)
    limiter.update("b", answer(SERVER_NOW, SERVER_NOW + 3), 429)
    assert limiter.seconds_until_reset("b") == pytest.approx(3.0)  # not a 1-s guess


def test_without_a_date_the_local_clock_is_trusted() -> None:
    """No ``Date``: offset 0, the reset is compared with the local clock (as before)."""
    # a response without a Date keeps an estimate already made
    skewed = limiter_at(SERVER_NOW + 300.0)
    skewed.update("b", answer(SERVER_NOW, SERVER_NOW + 1, remaining=5), 200)
    skewed.update("b", answer(None, SERVER_NOW + 2), 200)
    assert skewed.delay_for("b") == pytest.approx(2.01)
    assert skewed.clock_offset == pytest.approx(-300.0)
    limiter = limiter_at(1000.0)  # never a Date
    limiter.update("b", answer(None, 1001), 200)
    assert limiter.delay_for("b") == pytest.approx(1.01)
    assert limiter.clock_offset == 0.0


@pytest.mark.parametrize(
    "date",
    ["", "yesterday", "Mon, 32 Foo 2026 25:61:61 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
     "Thu, 01 Jan 1970 00:00:00 GMT", "Sun, 06 Dec 2026 18:00:00 +9999"],
)  # fmt: skip
def test_an_unparseable_or_absurd_date_is_ignored(date: str) -> None:
    limiter = limiter_at(SERVER_NOW + 300.0)
    limiter.update("b", answer(SERVER_NOW, SERVER_NOW + 1, remaining=5), 200)
    limiter.update("b", answer(date, SERVER_NOW + 2), 200)
    assert limiter.delay_for("b") == pytest.approx(2.01)  # the last sensible estimate holds
    assert limiter.clock_offset == pytest.approx(-300.0)
    fresh = limiter_at(SERVER_NOW)  # only a bad Date: the local clock is trusted
    fresh.update("b", answer(date, SERVER_NOW + 1), 200)
    assert fresh.delay_for("b") == pytest.approx(1.01)
    assert fresh.clock_offset == 0.0


@pytest.mark.parametrize("days", [-8, 30, -3650])
def test_a_reset_in_2100_stays_ignored(days: int, caplog: pytest.LogCaptureFixture) -> None:
    """A server clock days (even years) away is corrected; a reset in 2100 is still absurd."""
    server_now = SERVER_NOW + days * 86400  # the simulator's Date: days from real time
    limiter = limiter_at(SERVER_NOW + 0.2)
    limiter.update("b", answer(server_now, server_now + 1), 200)  # the same clock: adopted
    assert limiter.seconds_until_reset("b") == pytest.approx(1.0)
    with caplog.at_level(logging.WARNING, logger="sendgrid_hook.rate_limit"):
        for _ in range(3):
            limiter.update("b", answer(server_now, YEAR_2100), 200)
    assert limiter.seconds_until_reset("b") == pytest.approx(1.0)  # the sensible one holds
    assert limiter.delay_for("b") == pytest.approx(1.01)
    assert limiter.delay_for("b") <= limiter.max_wait
    (warning,) = warnings_of(caplog)  # once per bucket
    assert IGNORED in warning


def test_the_estimate_is_the_largest_recent_sample_and_follows_a_step() -> None:
    """``Date`` is truncated and arrives late, so each sample is at most the true offset: a
    slow response does not pull the estimate down; a jump of the server's clock (the
    simulator's Date going back a day at real midnight) is followed at once."""
    now = [SERVER_NOW + 300.0]
    limiter = RateLimiter(clock=lambda: now[0], sleep=lambda _s: None)
    limiter.update("b", answer(SERVER_NOW, SERVER_NOW + 1, remaining=5), 200)  # fast: -300
    now[0] += 10.9  # a response produced at SERVER_NOW + 10, received 0.9 s later
    limiter.update("b", answer(SERVER_NOW + 10, SERVER_NOW + 11, remaining=5), 200)
    assert limiter.seconds_until_reset("b") == pytest.approx(0.1)  # by the fast sample
    assert limiter.clock_offset == pytest.approx(-300.0)
    limiter.update("b", answer(SERVER_NOW + 10 - 86400, SERVER_NOW + 11 - 86400), 200)
    assert limiter.delay_for("b") == pytest.approx(1.01)
    assert limiter.clock_offset == pytest.approx(-300.9 - 86400)


def test_an_offset_within_the_date_resolution_counts_as_none() -> None:
    """A synchronised clock reads a truncated Date as up to 1 s behind: no correction."""
    limiter = limiter_at(1000.6)
    limiter.update("b", answer(1000, 1002), 200)
    assert limiter.delay_for("b") == pytest.approx(1.41)
    assert limiter.clock_offset == 0.0


# -- a hook with a skewed clock against the simulator, over HTTP -----------------------------
@pytest.mark.parametrize(
    ("skew", "sim_days"),
    [(300.0, 0), (-300.0, 0), (0.0, -8)],
    ids=["client-5min-ahead", "client-5min-behind", "simulator-8-days-back"],
)
def test_pacing_holds_with_a_skewed_client_clock(
    skew: float, sim_days: int, set_conn: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Requests stay within the simulator's limit: no 429, no reset ignored."""
    limit, requests = 8, 20
    clock = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=sim_days)
    with run_simulator(seed=42, scale="tiny", clock=clock, rate_limit=f"default={limit}/1s") as sim:
        set_conn(TEST_CONN, api_key_conn(sim, sim.tenant(0)["api_keys"]["full"]))
        hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
        limiter = RateLimiter(max_wait=hook.settings.max_wait, clock=lambda: time.time() + skew)
        hook.transport.limiter = limiter  # production builds it with the real clock
        start = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="sendgrid_hook"):
            for _ in range(requests):
                hook.get_json("/v3/user/account")
        elapsed = time.monotonic() - start
        server = sim.control.request_counts()["by_status"]
    assert hook.transport.status_counts == {200: requests}
    assert server.get("429", 0) == 0, server
    assert not [m for m in warnings_of(caplog) if IGNORED in m]
    assert limiter.waits >= 1, "the limiter slowed down before a 429"
    expected = sim_days * 86400 - skew  # the simulator's clock minus the client's
    assert limiter.clock_offset == pytest.approx(expected, abs=1.5)
    assert elapsed < requests / limit + 3, f"{elapsed:.1f} s"
