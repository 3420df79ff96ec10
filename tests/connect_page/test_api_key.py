"""API-key mode of the Connect page: verified with ``GET /v3/scopes`` before saving."""

from __future__ import annotations

import html
import re

from .conftest import connection_extra, create_tenant_connection, csrf_of, new_conn_id, status_of


def _post(api_server, session, path: str, **form) -> str:
    page = session.get(f"{api_server.base_url}/sendgrid/connections", timeout=30).text
    r = session.post(f"{api_server.base_url}/sendgrid{path}",
                     data={"csrf": csrf_of(page), **form}, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text[:500]
    return r.text


def _flash(page: str) -> str:
    match = re.search(r'id="flash"[^>]*>\s*<p>([^<]*)</p>', page)
    return html.unescape(match.group(1)) if match else ""


def test_wrong_key_is_not_saved_restricted_key_lists_missing_scopes(api_server, sim) -> None:
    conn_id = new_conn_id("key")
    tenant = create_tenant_connection(conn_id, sim, index=0, oauth=False)
    admin = api_server.session("admin")

    page = _post(api_server, admin, f"/connections/{conn_id}/api-key", api_key="SG.wrong.key")
    assert "rejected this API key" in _flash(page)
    assert connection_extra(conn_id)["password"] is None
    assert "SG.wrong.key" not in page

    key = tenant["api_keys"]["restricted"]
    page = _post(api_server, admin, f"/connections/{conn_id}/api-key", api_key=key)
    assert "lacks" in _flash(page)
    missing = re.findall(r"<li><code>([^<]+)</code>: ([^<]*)</li>", page)
    listed = dict(missing)
    for scope in tenant["api_keys"]["restricted_missing_scopes"]:
        assert scope in listed
    assert "global_stats" in listed["stats.read"]
    assert "templates" in listed["templates.read"]
    assert key not in page
    assert connection_extra(conn_id)["password"] == key
    assert status_of(page, conn_id) == "degraded"
    assert 'id="connect-' not in page.split(f'id="tenant-{conn_id}"')[1].split("</tr>")[0]

    page = _post(api_server, admin, f"/connections/{conn_id}/test")
    assert _flash(page).startswith(f"Test {conn_id}: Connected to SendGrid")


def test_new_tenant_with_api_key_is_registered(api_server, sim) -> None:
    from airflow.models import Variable

    conn_id = new_conn_id("newkey")
    admin = api_server.session("admin")
    tenant = sim.tenant(1)
    page = _post(api_server, admin, "/connections", conn_id=conn_id, display_name=tenant["name"],
                 host=sim.base_url, api_key=tenant["api_keys"]["full"])  # fmt: skip
    assert _flash(page) == f"Connected {conn_id} with an API key."
    assert status_of(page, conn_id) in ("connected", "degraded")
    assert conn_id in Variable.get("sendgrid_tenants")

    again = _post(api_server, admin, "/connections", conn_id=conn_id, api_key="SG.x")
    assert "already exists" in _flash(again)
    bad = _post(api_server, admin, "/connections", conn_id="bad id!", api_key="SG.x")
    assert "letters, digits" in _flash(bad)
    refused = _post(api_server, admin, "/connections", conn_id=new_conn_id("nokey"),
                    host=sim.base_url, api_key="SG.wrong")  # fmt: skip
    assert "rejected this API key" in _flash(refused)
