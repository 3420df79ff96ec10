"""The official ``sendgrid`` Python library reads the simulator like the real API."""

from __future__ import annotations

import json

import sendgrid

from sendgrid_simulator.testing import RunningSimulator


def _client(sim: RunningSimulator, index: int = 0) -> sendgrid.SendGridAPIClient:
    return sendgrid.SendGridAPIClient(sim.tenant(index)["api_keys"]["full"], host=sim.base_url)


def test_user_account_and_credits(sim: RunningSimulator) -> None:
    sg = _client(sim)
    account = sg.client.user.account.get()
    assert account.status_code == 200
    assert json.loads(account.body) == {
        "type": "paid",
        "reputation": json.loads(account.body)["reputation"],
    }
    credits = json.loads(sg.client.user.credits.get().body)
    assert credits["reset_frequency"] == "monthly"
    assert credits["remain"] + credits["used"] - credits["overage"] == credits["total"]


def test_stats_and_bounces(sim: RunningSimulator) -> None:
    sg = _client(sim)
    stats = sg.client.stats.get(query_params={"start_date": "2026-11-01", "aggregated_by": "week"})
    rows = json.loads(stats.body)
    assert rows[0]["date"] == "2026-11-01"
    assert "requests" in rows[0]["stats"][0]["metrics"]
    assert stats.headers["X-RateLimit-Limit"]
    bounces = sg.client.suppression.bounces.get(query_params={"limit": 5, "offset": 0})
    assert len(json.loads(bounces.body)) == 5
    assert 'rel="next"' in bounces.headers["Link"]


def test_templates_scopes_and_on_behalf_of(sim: RunningSimulator) -> None:
    sg = _client(sim)
    templates = sg.client.templates.get(
        query_params={"page_size": 2, "generations": "legacy,dynamic"}
    )
    body = json.loads(templates.body)
    assert len(body["result"]) == 2
    assert body["_metadata"]["next"].startswith(sim.base_url)
    scopes = json.loads(sg.client.scopes.get().body)["scopes"]
    assert "stats.read" in scopes
    sub = sim.tenant(0)["subusers"][0]
    username = sg.client.user.username.get(request_headers={"on-behalf-of": sub})
    assert json.loads(username.body)["username"] == sub


def test_a_parents_credits_used_count_its_subusers_sends(sim: RunningSimulator) -> None:
    """Subusers feed off the parent's credits (``docs/api-notes.md`` §4.1): the parent's
    ``used`` this period equals the emails its own stats and its subusers' stats requested on
    the period's days before today. It once counted the parent's own sends only, so the marts'
    projection (credits used plus a rate that includes subusers) mixed two measures."""
    sg = _client(sim)
    credits = json.loads(sg.client.user.credits.get().body)
    start = credits["last_reset"]
    today = sim.control.clock()["date"]  # just begun: nothing sent yet today
    days = {"start_date": start, "end_date": today, "aggregated_by": "day"}

    def requested(rows: list[dict]) -> int:
        return sum(s["metrics"]["requests"] for r in rows if r["date"] < today for s in r["stats"])

    parent = requested(json.loads(sg.client.stats.get(query_params=days).body))
    names = [s["username"] for s in json.loads(sg.client.subusers.get().body)]
    assert names  # the tenant has subusers sending
    subusers = sum(
        requested(json.loads(sg.client.subusers.stats.get(
            query_params={**days, "subusers": names[i : i + 10]}).body))
        for i in range(0, len(names), 10)
    )  # fmt: skip
    assert subusers > 0
    assert credits["used"] == parent + subusers
