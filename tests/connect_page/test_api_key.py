"""API-key mode of the Connect page: verified with ``GET /v3/scopes`` before saving."""

from __future__ import annotations

import html
import re

from .conftest import (
    account_of,
    connection_extra,
    create_tenant_connection,
    csrf_of,
    new_conn_id,
    status_of,
    subuser_inventory,
    tenant_dimension,
)


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
                 host=sim.base_url, region="eu", api_key=tenant["api_keys"]["full"])  # fmt: skip
    # scopes of add-on features the plan lacks are "not licensed" (noted), not missing
    expected = rf"Connected {conn_id} with an API key( \(\d+ optional scopes? not granted\))?\."
    assert re.fullmatch(expected, _flash(page)), _flash(page)
    assert _class_of(page, "flash") == "flash ok"
    assert status_of(page, conn_id) in ("connected", "degraded")
    assert conn_id in Variable.get("sendgrid_tenants")
    assert connection_extra(conn_id)["extra"]["region"] == "eu"
    assert '<option value="eu">eu (api.eu.sendgrid.com)</option>' in page
    mars = _post(api_server, admin, "/connections", conn_id=new_conn_id("mars"), region="mars",
                 host=sim.base_url, api_key=tenant["api_keys"]["full"])  # fmt: skip
    assert "region" in _flash(mars)
    assert re.search(r'<option value="mars" selected', mars) is None  # only real regions listed

    again = _post(api_server, admin, "/connections", conn_id=conn_id, api_key="SG.x")
    assert "already exists" in _flash(again)
    bad = _post(api_server, admin, "/connections", conn_id="bad id!", api_key="SG.x")
    assert "letters, digits" in _flash(bad)
    retry_id = new_conn_id("nokey")
    refused = _post(api_server, admin, "/connections", conn_id=retry_id, display_name="Retry Co",
                    host=sim.base_url, api_key="SG.wrong")  # fmt: skip
    assert "rejected this API key" in _flash(refused)
    # the form comes back as typed, so only the key needs retyping; the key itself never does
    assert _value_of(refused, "new-conn-id") == retry_id
    assert _value_of(refused, "new-display-name") == "Retry Co"
    assert _value_of(refused, "new-host") == sim.base_url
    assert _value_of(refused, "new-api-key") == ""
    assert "SG.wrong" not in refused
    # a base URL with user info is not carried back (the flash travels in the redirect's URL)
    proxied = _post(api_server, admin, "/connections", conn_id=retry_id,
                    host="https://proxyuser:proxypass@proxy.example")  # fmt: skip
    assert "Give an OAuth client or an API key" in _flash(proxied)
    assert _value_of(proxied, "new-host") == ""
    assert "proxypass" not in proxied


def _value_of(page: str, element_id: str) -> str:
    tag = re.search(rf'<input[^>]*\bid="{element_id}"[^>]*>', page)
    assert tag, element_id
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


def _class_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{re.escape(element_id)}" class="([^"]*)"', page)
    return match.group(1) if match else ""


def test_key_missing_scopes_is_connected_with_unreadable_features(api_server, sim) -> None:
    """A working key without some scopes: "Connected, N features unreadable", never green."""
    from sendgrid_elt.stream_scopes import scope_requirements

    conn_id = new_conn_id("scopes")
    tenant = sim.tenant(0)
    keys = tenant["api_keys"]
    missing = sorted(keys["restricted_missing_scopes"])
    disables = scope_requirements().disables
    unreadable = {stream for scope in missing for stream in disables[scope]}
    label = f"Connected, {len(unreadable)} features unreadable"

    page = _post(api_server, api_server.session("admin"), "/connections", conn_id=conn_id,
                 display_name=tenant["name"], host=sim.base_url,
                 api_key=keys["restricted"])  # fmt: skip
    # the flash after connecting: a warning (not the green "ok") naming what is unreadable
    assert _flash(page).startswith(f"Connected {conn_id} with an API key, {len(unreadable)} ")
    assert "lacks 3 required scopes" in _flash(page)
    assert _class_of(page, "flash") == "flash warn"
    # the Health cell: degraded (yellow), the label, each missing scope and what it disables
    assert status_of(page, conn_id) == "degraded"
    assert _class_of(page, f"status-{conn_id}") == "status degraded"
    cell = page.split(f'id="status-{conn_id}"')[1].split("</td>")[0]
    assert f">{label}</span>" in cell
    listed = dict(re.findall(r"<li><code>([^<]+)</code>: ([^<]*)</li>", cell))
    assert sorted(listed) == missing
    for scope in missing:
        assert listed[scope].split(", ") == sorted(disables[scope])
    assert keys["restricted"] not in page

    # the full key: plain green "Connected", nothing listed
    page = _post(api_server, api_server.session("admin"), f"/connections/{conn_id}/api-key",
                 api_key=keys["full"])  # fmt: skip
    assert _class_of(page, "flash") == "flash ok"
    assert status_of(page, conn_id) == "connected"
    cell = page.split(f'id="status-{conn_id}"')[1].split("</td>")[0]
    assert ">Connected</span>" in cell
    assert f'id="unreadable-{conn_id}"' not in cell


def test_duplicate_and_subuser_connections_are_named_once_the_reports_find_them(
    api_server, sim, connect_warehouse
) -> None:
    """Two connections with keys of one SendGrid account, and a third the reports find to be a
    subuser of the first: once the transform has found them (``duplicate_of_tenant_id``,
    ``subuser_of_tenant_id`` in ``dim_sendgrid_tenants``), each later one names the first, and
    every row names the account its credential reached."""
    first, again = new_conn_id("account"), new_conn_id("account_again")
    sub = new_conn_id("account_subuser")
    admin = api_server.session("admin")
    key = sim.tenant(2)["api_keys"]["full"]
    me = account_of(sim, key)
    for conn_id in (first, again, sub):
        page = _post(api_server, admin, "/connections", conn_id=conn_id, display_name="Same Co",
                     host=sim.base_url, api_key=key)  # fmt: skip
        assert _flash(page).startswith(f"Connected {conn_id}"), _flash(page)
    assert 'id="duplicate-' not in page  # no report yet: nothing to say
    assert f'id="account-{first}"' not in page
    known = [(first, me["user_id"], me["username"], None, None, False),
             (again, me["user_id"], me["username"], first, None, False),
             (sub, 7, "same-co-sub", None, first, False)]  # fmt: skip
    with tenant_dimension(connect_warehouse, known):
        page = admin.get(f"{api_server.base_url}/sendgrid/connections", timeout=30).text
    for kind, conn_id, expected in (
        ("duplicate", again, f"Same SendGrid account as {first}, connected first"),
        ("subuser", sub, f"A subuser of {first}: the reports count its sends and plan there"),
    ):
        note = re.search(rf'id="{kind}-{conn_id}"[^>]*>(.*?)</span>', page, re.DOTALL)
        assert note, page
        text = " ".join(html.unescape(re.sub("<[^>]+>", "", note.group(1))).split())
        assert text.startswith(expected), text
        assert f'href="#tenant-{first}"' in note.group(1)
    assert f'id="duplicate-{first}"' not in page
    assert f'id="subuser-{first}"' not in page
    for conn_id, account in ((first, f"account '{me['username']}', user id {me['user_id']}"),
                             (sub, "account 'same-co-sub', user id 7")):  # fmt: skip
        line = re.search(rf'id="account-{conn_id}"[^>]*>(.*?)</span>', page, re.DOTALL)
        assert line, page
        assert " ".join(html.unescape(line.group(1)).split()) == f"SendGrid {account}"
    assert key not in page


def test_a_key_for_an_account_the_reports_know_warns_when_it_is_saved(
    api_server, sim, connect_warehouse
) -> None:
    """Saving a key whose account (``GET /v3/user/username``) the tenant dimension already holds
    under a current connection: a warning naming the connection that counts it; a deleted
    connection or a known duplicate is never the one named."""
    key = sim.tenant(2)["api_keys"]["full"]
    me = account_of(sim, key)
    first, gone, dup = new_conn_id("counts"), new_conn_id("a_gone"), new_conn_id("a_dup")
    known = [(gone, me["user_id"], me["username"], None, None, True),
             (dup, me["user_id"], me["username"], first, None, False),
             (first, me["user_id"], me["username"], None, None, False)]  # fmt: skip
    admin = api_server.session("admin")
    expected = (f"This credential reaches SendGrid account '{me['username']}', user id "
                f"{me['user_id']}, which {first} already connects: the reports count that "
                f"account once, under {first}.")  # fmt: skip
    with tenant_dimension(connect_warehouse, known):
        new = new_conn_id("same_account")
        page = _post(api_server, admin, "/connections", conn_id=new, display_name="Same Co",
                     host=sim.base_url, api_key=key)  # fmt: skip
        assert _flash(page).startswith(f"Connected {new} with an API key"), _flash(page)
        assert _flash(page).endswith(expected), _flash(page)
        assert _class_of(page, "flash") == "flash warn"
        # a connection re-keyed with it says the same; one with another account's key does not
        other = new_conn_id("other_account")
        page = _post(api_server, admin, "/connections", conn_id=other, host=sim.base_url,
                     api_key=sim.tenant(1)["api_keys"]["full"])  # fmt: skip
        assert "This credential reaches" not in _flash(page), _flash(page)
        page = _post(api_server, admin, f"/connections/{other}/api-key", api_key=key)
        assert _flash(page).endswith(expected), _flash(page)
        assert key not in page


def test_a_key_for_a_subuser_of_a_connected_tenant_warns_when_it_is_saved(
    api_server, sim, connect_warehouse
) -> None:
    """Saving a key whose account a current connection lists among its subusers
    (``dim_sendgrid_subusers``): a warning naming that parent; a subuser the parent deleted, or
    a parent whose connection was deleted, says nothing."""
    key = sim.tenant(2)["api_keys"]["full"]
    me = account_of(sim, key)
    parent, gone = new_conn_id("parent"), new_conn_id("a_gone_parent")
    known = [(gone, 1, "gone-co", None, None, True),
             (parent, 2, "parent-co", None, None, False)]  # fmt: skip
    admin = api_server.session("admin")
    stale = [(gone, me["user_id"], me["username"], False),
             (parent, me["user_id"], me["username"], True)]  # fmt: skip
    with tenant_dimension(connect_warehouse, known), subuser_inventory(connect_warehouse, stale):
        new = new_conn_id("subuser_key")
        page = _post(api_server, admin, "/connections", conn_id=new, host=sim.base_url,
                     api_key=key)  # fmt: skip
        assert _flash(page).startswith(f"Connected {new} with an API key"), _flash(page)
        assert "This credential reaches" not in _flash(page), _flash(page)
        assert _class_of(page, "flash") == "flash ok"
    listed = [stale[0], (parent, me["user_id"], me["username"], False)]
    with tenant_dimension(connect_warehouse, known), subuser_inventory(connect_warehouse, listed):
        new = new_conn_id("subuser_key")
        page = _post(api_server, admin, "/connections", conn_id=new, host=sim.base_url,
                     api_key=key)  # fmt: skip
    assert _flash(page).startswith(f"Connected {new} with an API key"), _flash(page)
    assert _flash(page).endswith(
        f". This credential reaches SendGrid account '{me['username']}', user id "
        f"{me['user_id']}, a subuser of {parent}: the reports count its sends and plan under "
        f"{parent}."
    ), _flash(page)
    assert _class_of(page, "flash") == "flash warn"
    assert key not in page
