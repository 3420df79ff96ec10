"""Rate limits (headers, 429, reset) and deterministic faults that never corrupt state."""

from __future__ import annotations

import datetime as dt
import email.utils
import time

import pytest
import requests

from sendgrid_simulator.faults import FaultConfig
from sendgrid_simulator.ratelimit import RateLimitConfig, Rule
from sendgrid_simulator.testing import RunningSimulator, run_simulator

from .conftest import CLOCK, call

TOO_MANY = {"errors": [{"field": None, "message": "too many requests"}]}


def test_rate_limit_config_syntax() -> None:
    cfg = RateLimitConfig.parse(
        "default=20/1s,/v3/messages=6/60s,/v3/suppression/*=5/500ms,retry_after=on"
    )
    assert cfg.rule_for("/v3/messages") == Rule(6, 60.0)
    assert cfg.rule_for("/v3/suppression/bounces") == Rule(5, 0.5)
    assert cfg.rule_for("/v3/stats") == Rule(20, 1.0)
    assert cfg.retry_after
    assert RateLimitConfig.parse("off").rule_for("/v3/stats") is None
    with pytest.raises(ValueError, match="KEY=N/WINDOW"):
        RateLimitConfig.parse("nonsense")


def test_headers_429_and_reset(fresh_sim: RunningSimulator, http: requests.Session) -> None:
    sim = fresh_sim
    sim.control.set_rate_limit("default=1000/1s,/v3/user/account=3/1s,retry_after=on")
    key = sim.tenant(0)["api_keys"]["full"]
    other = sim.tenant(0)["api_keys"]["restricted"]
    # Align to the start of a window so the test cannot straddle two windows.
    time.sleep(1 - time.time() % 1 + 0.01)
    seen = []
    for _ in range(4):
        r = call(http, sim, "/v3/user/account", key)
        seen.append((r.status_code, r.headers["X-RateLimit-Remaining"]))
    assert seen == [(200, "2"), (200, "1"), (200, "0"), (429, "0")]
    assert r.json() == TOO_MANY
    assert r.headers["X-RateLimit-Limit"] == "3"
    assert int(r.headers["Retry-After"]) >= 1
    # The reset is in the clock of the Date header (the simulated one, whole days from real
    # time), as SendGrid's is in its own clock: the window ends 1 s after the Date's second.
    reset = int(r.headers["X-RateLimit-Reset"])
    date = email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp()
    assert date.is_integer()
    assert reset - date == 1
    shift = round((date - time.time()) / 86400) * 86400  # simulated minus real clock
    assert dt.datetime.fromtimestamp(date, dt.UTC).date() == CLOCK  # a fresh simulator's
    assert 0 < reset - shift - time.time() <= 1.1  # in real time: the end of this window
    # Buckets are per key and per endpoint.
    assert call(http, sim, "/v3/user/account", other).status_code == 200
    assert call(http, sim, "/v3/user/credits", key).headers["X-RateLimit-Limit"] == "1000"
    time.sleep(max(0.0, reset - shift - time.time()) + 0.05)
    assert call(http, sim, "/v3/user/account", key).status_code == 200
    assert call(http, sim, "/v3/scopes", None).headers["X-RateLimit-Limit"] == "1000"


def test_fault_config_syntax() -> None:
    cfg = FaultConfig.parse("500=0.05,truncate=0.02,slow_seconds=1.5,burst=2")
    assert cfg.rates == {"500": 0.05, "truncate": 0.02}
    assert (cfg.slow_seconds, cfg.burst) == (1.5, 2)
    with pytest.raises(ValueError, match="unknown fault key"):
        FaultConfig.parse("teapot=0.1")


def _outcome(
    http: requests.Session,
    sim: RunningSimulator,
    key: str,
    path: str,
    params: dict,
    timeout: float = 5.0,
) -> str:
    try:
        r = http.get(
            sim.base_url + path,
            params=params,
            timeout=timeout,
            headers={"Authorization": f"Bearer {key}"},
        )
    except requests.exceptions.ReadTimeout:
        return "slow"
    except requests.exceptions.ConnectionError:
        return "drop"
    if r.status_code != 200:
        return str(r.status_code)
    try:
        r.json()
    except ValueError:
        return "truncate"
    return "ok"


def _run_sequence(seed: int) -> list[str]:
    faults = "500=0.12,502=0.08,503=0.08,429=0.08,drop=0.08,truncate=0.1,slow=0.05,slow_seconds=0.3"
    with run_simulator(seed=seed, clock=CLOCK, rate_limit="off", faults=faults) as sim:
        key = sim.tenant(0)["api_keys"]["full"]
        with requests.Session() as http:
            return [
                _outcome(
                    http,
                    sim,
                    key,
                    "/v3/suppression/bounces",
                    {"limit": 20, "offset": 20 * (i % 10)},
                    timeout=0.12,
                )
                for i in range(60)
            ]


def test_every_fault_kind_happens_deterministically() -> None:
    first = _run_sequence(7)
    assert set(first) >= {"ok", "500", "502", "503", "429", "drop", "truncate", "slow"}
    assert _run_sequence(7) == first
    assert _run_sequence(8) != first


def test_faults_do_not_corrupt_state(http: requests.Session) -> None:
    with run_simulator(clock=CLOCK, rate_limit="off") as clean:
        key = clean.tenant(0)["api_keys"]["full"]
        expected = [
            call(
                http, clean, "/v3/suppression/bounces", key, {"limit": 100, "offset": 100 * i}
            ).json()
            for i in range(5)
        ]
    faults = "500=0.2,503=0.1,truncate=0.2,drop=0.1,429=0.1,burst=2"
    with run_simulator(clock=CLOCK, rate_limit="off", faults=faults) as sim:
        key = sim.tenant(0)["api_keys"]["full"]
        got, failures = [], 0
        for i in range(5):
            for _attempt in range(20):  # a client that retries every failure
                try:
                    r = call(
                        http, sim, "/v3/suppression/bounces", key, {"limit": 100, "offset": 100 * i}
                    )
                    if r.status_code == 200:
                        got.append(r.json())
                        break
                except (requests.exceptions.ConnectionError, ValueError):
                    pass
                failures += 1
        assert got == expected
        assert failures > 0
        counts = sim.control.request_counts()
        assert sum(counts["faults"].values()) == failures
        sim.control.clear_faults()
        assert call(http, sim, "/v3/user/account", key).status_code == 200


def test_429_burst_continues_across_requests(
    fresh_sim: RunningSimulator, http: requests.Session
) -> None:
    sim = fresh_sim
    sim.control.set_faults({"429": 1.0, "burst": 3, "max_consecutive": 1})
    key = sim.tenant(0)["api_keys"]["full"]
    codes = [call(http, sim, "/v3/user/account", key, {"n": i}).status_code for i in range(4)]
    assert codes[:3] == [429, 429, 429]
    sim.control.set_faults(None)
    assert call(http, sim, "/v3/user/account", key).status_code == 200


def test_latency_delays_every_reply_without_faulting(http: requests.Session) -> None:
    assert FaultConfig.parse("latency_seconds=0.05").latency_seconds == 0.05
    with pytest.raises(ValueError, match="negative"):
        FaultConfig.parse("latency_seconds=-1")
    with run_simulator(clock=CLOCK, rate_limit="off", faults="latency_seconds=0.2") as sim:
        key = sim.tenant(0)["api_keys"]["full"]
        started = time.perf_counter()
        replies = [call(http, sim, "/v3/user/account", key).status_code for _ in range(3)]
        elapsed = time.perf_counter() - started
        assert replies == [200, 200, 200]
        assert elapsed >= 0.6
        assert sum(sim.control.request_counts()["faults"].values()) == 0
