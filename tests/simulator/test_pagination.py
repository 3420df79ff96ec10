"""Each pagination style: single page, many pages, last page, empty."""

from __future__ import annotations

import requests

from sendgrid_simulator.testing import RunningSimulator

from .conftest import call


def _links(r: requests.Response) -> dict[str, str]:
    return {rel: v["url"] for rel, v in r.links.items()}


def test_limit_offset_walk_with_link_header(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    total = sim.control.truth()["tenants"][0]["streams"]["bounces"]["count"]
    assert total > 500
    emails: list[str] = []
    r = call(http, sim, "/v3/suppression/bounces", key, {"limit": 500, "offset": 0})
    pages = 0
    while True:
        pages += 1
        rows = r.json()
        emails += [row["email"] for row in rows]
        links = _links(r)
        assert links["first"].endswith("offset=0")
        if "next" not in links:
            break
        r = http.get(links["next"], headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert len(emails) == total == len(set(emails))
    assert pages == -(-total // 500)
    assert len(rows) == total - (pages - 1) * 500  # last page is short
    created = [row["created"] for row in r.json()]
    assert created == sorted(created)


def test_link_header_values_match_docs_format(
    sim: RunningSimulator, http: requests.Session
) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    r = call(http, sim, "/v3/suppression/unsubscribes", key, {"limit": 50, "offset": 0})
    header = r.headers["Link"]
    assert 'rel="next"; title="2"' in header
    assert 'rel="prev"; title="1"' in header  # prev of the first page is the first page
    assert 'rel="first"; title="1"' in header
    last = _links(r)["last"]
    r_last = http.get(last, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert 0 < len(r_last.json()) <= 50
    assert "next" not in _links(r_last)


def test_limit_offset_empty_and_single_page(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    r = call(http, sim, "/v3/suppression/bounces", key, {"limit": 500, "offset": 10_000_000})
    assert r.status_code == 200
    assert r.json() == []
    free = sim.tenant(2)["api_keys"]["full"]
    r = call(http, sim, "/v3/suppression/spam_reports", free, {"limit": 500})
    assert len(r.json()) < 500
    assert "next" not in _links(r)
    r = call(http, sim, "/v3/teammates", key, {"limit": 2, "offset": 2})
    assert len(r.json()["result"]) == 2


def test_time_window_is_inclusive(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    rows = call(http, sim, "/v3/suppression/bounces", key, {"limit": 50, "offset": 100}).json()
    lo, hi = rows[0]["created"], rows[-1]["created"]
    window = call(
        http, sim, "/v3/suppression/bounces", key, {"start_time": lo, "end_time": hi, "limit": 500}
    ).json()
    assert all(lo <= w["created"] <= hi for w in window)
    assert {r["email"] for r in rows} <= {w["email"] for w in window}
    assert len(window) >= len(rows)


def test_page_token_metadata_walk(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    auth = {"Authorization": f"Bearer {key}"}
    r = call(http, sim, "/v3/templates", key, {"page_size": 1, "generations": "legacy,dynamic"})
    body = r.json()
    assert "prev" not in body["_metadata"]
    ids = [t["id"] for t in body["result"]]
    while "next" in body["_metadata"]:
        nxt = body["_metadata"]["next"]
        assert nxt.startswith(f"{sim.base_url}/v3/templates?")
        assert "page_token=" in nxt
        body = http.get(nxt, headers=auth, timeout=30).json()
        assert "prev" in body["_metadata"]
        ids += [t["id"] for t in body["result"]]
    assert len(ids) == len(set(ids)) == body["_metadata"]["count"]
    legacy_only = call(http, sim, "/v3/templates", key, {"page_size": 200}).json()["result"]
    assert {t["generation"] for t in legacy_only} == {"legacy"}  # default generation (quirk)
    empty = call(
        http, sim, "/v3/templates", sim.tenant(2)["api_keys"]["full"], {"page_size": 10}
    ).json()
    assert empty["result"] == []
    assert "next" not in empty["_metadata"]
    bad = call(http, sim, "/v3/templates", key, {"page_size": 1, "page_token": "forged"})
    assert bad.status_code == 400


def test_keyset_after_key(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    seen, after = [], None
    while True:
        params = {"limit": 1} | ({"after_key": after} if after else {})
        body = call(http, sim, "/v3/send_ips/ips", key, params).json()
        seen += [ip["ip"] for ip in body["result"]]
        after = body["_metadata"]["next_params"]["after_key"]
        if after is None:
            break
    every = call(http, sim, "/v3/send_ips/ips", key, {"limit": 100}).json()["result"]
    assert seen == [ip["ip"] for ip in every]
    assert len(seen) >= 2
    bad = call(http, sim, "/v3/send_ips/ips", key, {"after_key": "x"})
    assert bad.status_code == 400
    assert bad.json() == {"errors": [{"field": "after_key", "message": "must be a numeric value"}]}
    empty = call(http, sim, "/v3/send_ips/ips", sim.tenant(2)["api_keys"]["full"]).json()
    assert empty == {"result": [], "_metadata": {"next_params": {"after_key": None, "limit": "10"}}}


def test_single_page_endpoints(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    segments = call(http, sim, "/v3/marketing/segments/2.0", key).json()
    assert isinstance(segments["results"], list)
    monthly = call(http, sim, "/v3/subusers/stats/monthly", key, {"date": "2026-11-01"})
    assert len(monthly.json()["stats"]) == 3  # default limit 5 > 3 subusers
