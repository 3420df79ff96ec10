"""The Connect page with connections that are broken, or gone and created again.

Over HTTP against the real API server: a connection whose extras cannot be read shows its own
error while the others render, and an invite link dies with the connection it was made for,
even when a new connection takes the same id.
"""

from __future__ import annotations

import html
import json
import re

import requests

from .conftest import (
    continue_invite,
    create_tenant_connection,
    csrf_of,
    new_conn_id,
    open_invite,
)


def _list(api_server) -> requests.Response:
    return api_server.session("admin").get(f"{api_server.base_url}/sendgrid/connections",
                                           timeout=30)  # fmt: skip


def _invite(api_server, conn_id: str) -> str:
    admin = api_server.session("admin")
    csrf = csrf_of(_list(api_server).text)
    r = admin.post(f"{api_server.base_url}/sendgrid/connections/{conn_id}/invite",
                   data={"csrf": csrf}, timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text[:300]
    return html.unescape(re.search(r'id="invite-link" [^>]*value="([^"]+)"', r.text).group(1))


def _delete(conn_id: str) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(Connection).where(Connection.conn_id == conn_id))


def test_invite_dies_with_its_connection_even_if_the_id_comes_back(api_server, sim) -> None:
    conn_id = new_conn_id("reborn")
    create_tenant_connection(conn_id, sim, index=2)
    link = _invite(api_server, conn_id)
    assert open_invite(requests.Session(), link).status_code == 200  # while its connection lives
    form_page = open_invite(requests.Session(), link).text

    _delete(conn_id)
    create_tenant_connection(conn_id, sim, index=2)  # same id, same client: another connection
    landing = open_invite(requests.Session(), link)
    assert landing.status_code == 410, landing.text[:300]
    assert "no longer valid" in landing.text
    start = continue_invite(requests.Session(), link, form_page)
    assert start.status_code == 410

    fresh = _invite(api_server, conn_id)  # the new connection gets its own, working invites
    assert open_invite(requests.Session(), fresh).status_code == 200


def test_one_unreadable_connection_does_not_break_the_list(api_server, sim) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    good, bad = new_conn_id("good"), new_conn_id("bad")
    create_tenant_connection(good, sim, index=0)
    broken = Connection(
        conn_id=bad,
        conn_type="sendgrid",
        host=sim.base_url,
        password="SG.bad-row-key.bad-row-secret-value",
        extra=json.dumps({"read_timeout": "30s", "max_retries": "x"}),
    )
    with create_session() as session:
        session.add(broken)
    page = _list(api_server)
    assert page.status_code == 200, page.text[:500]
    assert f'id="tenant-{good}"' in page.text
    assert f'id="tenant-{bad}"' in page.text
    error = re.search(rf'id="config-error-{bad}"[^>]*>([^<]+)<', page.text)
    assert error, "the broken connection's row does not say what is wrong"
    text = html.unescape(error.group(1))
    assert "read_timeout: must be a number (seconds), got '30s'" in text
    assert "max_retries" in text
    assert f'id="config-error-{good}"' not in page.text
    assert "bad-row-secret-value" not in page.text


def test_an_invite_to_a_connection_whose_oauth_settings_broke_says_so(api_server, sim) -> None:
    """The admin removed the client secret after inviting: the link answers a clear 409, not a
    bare 500."""
    import json

    from airflow.models import Connection
    from airflow.utils.session import create_session

    conn_id = new_conn_id("broken_oauth")
    create_tenant_connection(conn_id, sim, index=2)
    link = _invite(api_server, conn_id)
    assert open_invite(requests.Session(), link).status_code == 200
    with create_session() as session:
        conn = session.query(Connection).filter(Connection.conn_id == conn_id).one()
        extra = json.loads(conn.extra or "{}")
        extra.pop("client_secret", None)
        conn.set_extra(json.dumps({**extra, "region": "mars"}))
    landing = open_invite(requests.Session(), link)
    assert landing.status_code == 409, landing.text[:300]
    assert "OAuth settings" in landing.text


def test_a_connection_whose_extra_cannot_be_read_is_never_written_over(api_server, sim) -> None:
    """Its extra was read as empty, and the next write (an invite's marker, a saved key, a
    fresh grant) stored that empty extra back: the display name, region, alert e-mails and
    OAuth client were gone for good. Now each write refuses, nothing changed, and the list
    names the problem on that row."""
    import pytest
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sendgrid_connect.tenants import TenantError, identity, save_api_key
    from sqlalchemy import select, update

    conn_id = new_conn_id("unreadable_extra")
    create_tenant_connection(conn_id, sim, index=0)
    stored = '{"display_name": "Acme", "region": "eu", "alert_emails": "it@acme.example",'
    table = Connection.__table__
    with create_session() as session:  # written by another tool, or cut short
        session.execute(update(table).where(table.c.conn_id == conn_id)
                        .values(extra=stored, is_extra_encrypted=False))  # fmt: skip
    for write in (lambda: identity(conn_id, create=True),
                  lambda: save_api_key(conn_id, "SG.new-key.new-secret")):  # fmt: skip
        with pytest.raises(TenantError, match="cannot be read"):
            write()
    with create_session() as session:
        assert session.scalar(select(table.c.extra).where(table.c.conn_id == conn_id)) == stored
    page = _list(api_server)
    assert page.status_code == 200, page.text[:500]
    row = re.search(rf'id="config-error-{conn_id}"[^>]*>([^<]+)<', page.text)
    assert row, "the row does not say what is wrong"
    assert "cannot be read" in html.unescape(row.group(1))
