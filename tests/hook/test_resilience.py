"""Retries and rate limits against the simulator's fault injector and rate limiter."""

from __future__ import annotations

import time
from typing import Any

from sendgrid_hook.hooks.sendgrid import SendGridHook

from tests.hook.conftest import TEST_CONN, api_key_conn

ENDPOINTS = ("/v3/user/account", "/v3/user/credits", "/v3/user/profile", "/v3/alerts")


def test_retries_5xx_drops_timeouts_and_truncated_bodies(sim: Any, tenant: dict, set_conn) -> None:
    key = tenant["api_keys"]["full"]
    set_conn(TEST_CONN, api_key_conn(sim, key, read_timeout=0.4, max_retries=6))
    sim.control.set_faults(
        "500=0.15,502=0.05,503=0.05,drop=0.05,truncate=0.15,slow=0.05",
        slow_seconds=1.0,
        seed=7,
    )
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01, backoff_max=0.05)
    bodies = [hook.get_json(path) for path in ENDPOINTS * 10]
    assert all(isinstance(b, (dict, list)) for b in bodies)
    bounces = list(
        hook.iter_records(
            "/v3/suppression/bounces", pagination="offset", records_path=None, page_size=100
        )
    )
    assert len(bounces) == hook.last_progress.records > 500
    faults = sim.control.request_counts()["faults"]
    assert sum(faults.values()) >= 10, faults
    assert hook.transport.retry_count >= 10
    assert hook.request_count == hook.transport.retry_count + 40 + hook.last_progress.pages


def test_sustains_limit_without_429(sim: Any, tenant: dict, set_conn) -> None:
    limit = 15
    sim.control.set_rate_limit(f"default={limit}/1s")
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"]))
    hook = SendGridHook(sendgrid_conn_id=TEST_CONN)
    start = time.monotonic()
    for i in range(6 * limit):
        hook.get_json(ENDPOINTS[i % 2])  # two endpoint buckets, each limited separately
    elapsed = time.monotonic() - start
    counts = hook.transport.status_counts
    assert counts == {200: 6 * limit}, counts
    assert hook.transport.limiter.waits >= 1, "the limiter slowed down before a 429"
    assert sim.control.request_counts()["by_status"].get("429", 0) == 0
    assert elapsed < 10


def test_shared_key_429_is_waited_out(sim: Any, tenant: dict, set_conn) -> None:
    """Two hooks share one key (one server bucket) without knowing about each other."""
    limit = 10
    sim.control.set_rate_limit(f"default={limit}/1s,retry_after=on")
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"]))
    first, second = (
        SendGridHook(sendgrid_conn_id=TEST_CONN),
        SendGridHook(sendgrid_conn_id=TEST_CONN),
    )
    for _ in range(2 * limit):
        first.get_json("/v3/user/account")
        second.get_json("/v3/user/account")
    too_many = first.transport.status_counts.get(429, 0) + second.transport.status_counts.get(
        429, 0
    )
    ok = first.transport.status_counts[200] + second.transport.status_counts[200]
    assert ok == 4 * limit
    windows = 4 * limit // limit + 1
    assert 1 <= too_many <= windows
