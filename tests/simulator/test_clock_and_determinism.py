"""Simulated time (new days, late stats, mutations, truth) and seed determinism."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import psutil
import requests

from sendgrid_simulator.testing import RunningSimulator, run_simulator
from sendgrid_simulator.truth import build_truth
from sendgrid_simulator.world import World

from .conftest import CLOCK, call

ENDPOINTS = [
    ("/v3/suppression/bounces", {"limit": 50, "offset": 10}),
    ("/v3/stats", {"start_date": "2026-10-01", "aggregated_by": "week"}),
    ("/v3/teammates", {}),
    ("/v3/api_keys", {}),
    ("/v3/templates", {"page_size": 5, "generations": "legacy,dynamic"}),
    ("/v3/marketing/singlesends", {"page_size": 5}),
    ("/v3/whitelabel/domains", {}),
    ("/v3/subusers/stats/monthly", {"date": "2026-10-01"}),
]


def test_advance_adds_days_rows_and_mutations(
    fresh_sim: RunningSimulator, http: requests.Session
) -> None:
    sim = fresh_sim
    key = sim.tenant(0)["api_keys"]["full"]
    before = sim.control.truth()["tenants"][0]
    stats_before = call(http, sim, "/v3/stats", key, {"start_date": "2026-11-24"}).json()
    keys_before = {k["api_key_id"] for k in call(http, sim, "/v3/api_keys", key).json()["result"]}
    assert sim.control.truth()["as_of"] == "2026-11-28T00:00:00Z"
    changes = sim.control.advance(days=2)
    assert changes["clock"] == "2026-11-30"
    assert sim.control.clock()["as_of"] == sim.control.truth()["as_of"] == "2026-11-30T00:00:00Z"
    after = sim.control.truth()["tenants"][0]
    # New suppressions with ``created`` inside the new days.
    assert after["streams"]["bounces"]["count"] > before["streams"]["bounces"]["count"]
    start = int(dt.datetime(2026, 11, 28, tzinfo=dt.UTC).timestamp())
    new_rows = call(http, sim, "/v3/suppression/bounces", key, {"start_time": start}).json()
    assert (
        len(new_rows)
        == after["streams"]["bounces"]["count"] - before["streams"]["bounces"]["count"]
    )
    # New stats days, and late opens/clicks change the last days.
    stats_after = call(http, sim, "/v3/stats", key, {"start_date": "2026-11-24"}).json()
    assert [r["date"] for r in stats_after][-1] == "2026-11-30"
    old = {r["date"]: r["stats"][0]["metrics"] for r in stats_before}
    new = {r["date"]: r["stats"][0]["metrics"] for r in stats_after}
    assert new["2026-11-24"] == old["2026-11-24"]  # mature days are final
    assert new["2026-11-27"]["opens"] > old["2026-11-27"]["opens"]
    assert new["2026-11-27"]["requests"] == old["2026-11-27"]["requests"]
    # the clock date has just begun (nothing sent yet); two days later it is complete
    assert old["2026-11-28"]["requests"] == new["2026-11-30"]["requests"] == 0
    assert new["2026-11-28"]["requests"] > 0
    # A teammate joined per day; an API key was deleted per day.
    assert (
        len(after["streams"]["teammates"]["primary_keys"])
        == len(before["streams"]["teammates"]["primary_keys"]) + 2
    )
    keys_after = {k["api_key_id"] for k in call(http, sim, "/v3/api_keys", key).json()["result"]}
    assert len(keys_before - keys_after) == 2
    assert keys_after < keys_before
    assert after["aggregates"]["api_keys"] == len(keys_after)
    assert (
        after["aggregates"]["requests_by_month"]["2026-11"]
        > before["aggregates"]["requests_by_month"]["2026-11"]
    )
    date = call(http, sim, "/v3/user/account", key).headers["Date"]
    assert "30 Nov 2026" in date


def test_revoked_key_is_401_and_deleted(
    fresh_sim: RunningSimulator, http: requests.Session
) -> None:
    sim = fresh_sim
    full, restricted = sim.tenant(0)["api_keys"]["full"], sim.tenant(0)["api_keys"]["restricted"]
    assert sim.control.revoke_key(restricted)
    assert call(http, sim, "/v3/user/account", restricted).status_code == 401
    ids = {k["api_key_id"] for k in call(http, sim, "/v3/api_keys", full).json()["result"]}
    assert restricted.split(".")[1] not in ids
    remaining = sim.control.drop_scopes(full, ["stats.read"])
    assert "stats.read" not in remaining
    assert call(http, sim, "/v3/stats", full, {"start_date": "2026-11-01"}).status_code == 403
    counts = sim.control.request_counts()
    assert counts["by_endpoint"]["GET /v3/stats"] == 1
    assert counts["by_status"]["401"] == 1
    assert sim.control.reset_counts()["total"] == 0


def _bodies(sim: RunningSimulator) -> list:
    out = []
    with requests.Session() as http:
        for tenant in sim.accounts["tenants"]:
            for path, params in ENDPOINTS:
                r = call(http, sim, path, tenant["api_keys"]["full"], params)
                out.append((r.status_code, r.text.replace(sim.base_url, "")))
    return out


def test_same_seed_identical_other_seed_different() -> None:
    with run_simulator(seed=1, clock=CLOCK) as a, run_simulator(seed=1, clock=CLOCK) as b:
        assert a.accounts == b.accounts
        first = _bodies(a)
        assert first == _bodies(b)
        assert a.control.truth() == b.control.truth()
    with run_simulator(seed=2, clock=CLOCK) as c:
        assert c.accounts != a.accounts
        assert _bodies(c) != first


def test_tiny_starts_fast() -> None:
    t0 = time.perf_counter()
    with run_simulator(seed=3) as sim:
        elapsed = time.perf_counter() - t0
        assert requests.get(f"{sim.base_url}/__sim/health", timeout=5).json()["ok"]
    assert elapsed < 3.0  # well under a second alone; `make test` runs two workers on two cores


def test_large_serves_deep_offset_lazily(http: requests.Session) -> None:
    rss_before = psutil.Process().memory_info().rss
    with run_simulator(seed=42, scale="large", clock=CLOCK, rate_limit="off") as sim:
        key = sim.tenant(0)["api_keys"]["full"]
        r = call(http, sim, "/v3/suppression/bounces", key, {"limit": 500, "offset": 4_999_500})
        rows = r.json()
        assert len(rows) == 500
        assert rows[0]["email"].split("@")[0].endswith(".4999500")
        assert 'rel="last"' in r.headers["Link"]
        subs = call(http, sim, "/v3/subusers", key, {"limit": 500}).json()
        assert len(subs) == 100
        lst = sim.app.world.suppression(sim.app.world.tenants[0].parent, "bounces")
        assert lst.total(CLOCK) >= 5_000_000
        assert len(lst._counts) < 2000  # one integer per day, never the rows
    grown_mb = (psutil.Process().memory_info().rss - rss_before) / 2**20
    # The suite's process already holds Airflow, dbt…: measure what the simulator added.
    assert grown_mb < 150, grown_mb


def test_cli_accounts_and_truth_parse() -> None:
    for command in ("accounts", "truth"):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "sendgrid_simulator",
                command,
                "--seed",
                "5",
                "--scale",
                "tiny",
                "--clock",
                "2026-11-28",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        doc = json.loads(out)
        assert doc["seed"] == 5
        assert len(doc["tenants"]) == 3
    assert doc["clock"] == "2026-11-28"
    assert doc["as_of"] == "2026-11-28T00:00:00Z"  # the instant the truth is computed at
    pro = doc["tenants"][0]
    assert pro["plan"] == "pro"
    assert pro["aggregates"]["subusers"]["total"] == 3
    assert pro["aggregates"]["subusers"]["disabled"] == 1
    assert pro["aggregates"]["subusers"]["inactive_30d"] >= 1
    assert (
        pro["aggregates"]["pending_invites"]["expired"]
        + pro["aggregates"]["pending_invites"]["valid"]
        == 3
    )
    assert set(pro["aggregates"]["teammates_by_role"]) == {"owner", "admin", "teammate"}


def test_truth_is_computed_at_the_clock_instant() -> None:
    """Invitations compare their expiry with the instant ``now`` (the clock date at 00:00
    UTC), the same instant a pipeline run whose data interval ends there uses."""
    world = World(seed=42, scale="tiny", clock=dt.date(2026, 11, 28))
    assert world.now == dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    assert world.now_epoch() == int(world.now.timestamp())
    tenant = world.tenants[0]
    pending = world.catalog.get(tenant, tenant.parent, "pending")
    truth = next(t for t in build_truth(world)["tenants"] if t["tenant_id"] == tenant.tenant_id)
    now = world.now_epoch()
    assert truth["aggregates"]["pending_invites"] == {
        "valid": sum(1 for p in pending if p["expiration_date"] > now),
        "expired": sum(1 for p in pending if p["expiration_date"] <= now),
    }
