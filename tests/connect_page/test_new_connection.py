"""Connecting a new organization with an OAuth client: a refusal saves nothing.

Over HTTP against the real API server: what would stop the authorization from starting (an
endpoint neither https nor loopback http, an unreadable ``sendgrid_tenants`` Variable) is
refused with the page's error message before the connection is saved, so the same form can be
sent again once fixed.
"""

from __future__ import annotations

import html
import re

import pytest
import requests

from .conftest import csrf_of, new_conn_id

TENANTS_VARIABLE = "sendgrid_tenants"


def _create(api_server, session: requests.Session, **form) -> requests.Response:
    page = session.get(f"{api_server.base_url}/sendgrid/connections", timeout=30).text
    return session.post(f"{api_server.base_url}/sendgrid/connections",
                        data={"csrf": csrf_of(page), **form}, allow_redirects=False,
                        timeout=60)  # fmt: skip


def _flash(api_server, session: requests.Session, response: requests.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    page = session.get(f"{api_server.base_url}{response.headers['location']}", timeout=30).text
    match = re.search(r'id="flash"[^>]*>\s*<p>([^<]*)</p>', page)
    return html.unescape(match.group(1)) if match else ""


def _stored(conn_id: str) -> bool:
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.scalar(select(Connection.id).where(Connection.conn_id == conn_id))
    return found is not None


def _registered() -> str | None:
    from airflow.models import Variable

    return Variable.get(TENANTS_VARIABLE, default_var=None)


def test_an_oauth_endpoint_without_https_is_refused_before_saving(api_server, sim) -> None:
    conn_id = new_conn_id("plainhttp")
    oauth = sim.tenant(0)["oauth"]
    client = {"client_id": oauth["client_id"], "client_secret": oauth["client_secret"]}
    admin = api_server.session("admin")

    refused = _create(api_server, admin, conn_id=conn_id, host="http://sendgrid-proxy.example",
                      **client)  # fmt: skip
    assert _flash(api_server, admin, refused) == (
        "OAuth endpoints must use https (http only for localhost)."
    )
    assert not _stored(conn_id)
    assert conn_id not in (_registered() or "")

    # the same id again, with a usable endpoint: not "already exists", the flow starts
    started = _create(api_server, admin, conn_id=conn_id, host=sim.base_url, **client)
    assert started.status_code == 303, started.text[:500]
    assert started.headers["location"].startswith(f"{sim.base_url}/oauth/authorize?")
    assert _stored(conn_id)
    assert conn_id in _registered()


def test_an_unreadable_tenants_variable_is_refused_before_saving(api_server, sim) -> None:
    from airflow.models import Variable

    conn_id = new_conn_id("badvariable")
    oauth = sim.tenant(0)["oauth"]
    form = {"conn_id": conn_id, "host": sim.base_url, "client_id": oauth["client_id"],
            "client_secret": oauth["client_secret"]}  # fmt: skip
    admin = api_server.session("admin")
    Variable.set(TENANTS_VARIABLE, '["acme_prod", ')  # cut short: not JSON
    try:
        refused = _create(api_server, admin, **form)
        text = _flash(api_server, admin, refused)
        assert f"The Airflow Variable '{TENANTS_VARIABLE}' cannot be read" in text, text
        assert "Nothing was saved." in text
        assert not _stored(conn_id)
        assert _registered() == '["acme_prod", '  # left as it was, for its owner to fix
    finally:
        Variable.delete(TENANTS_VARIABLE)

    started = _create(api_server, admin, **form)
    assert started.status_code == 303, started.text[:500]
    assert started.headers["location"].startswith(f"{sim.base_url}/oauth/authorize?")
    assert _stored(conn_id)


def test_a_failed_read_of_the_tenant_list_never_drops_its_ids(
    airflow_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Variable.get`` logs a failed metadata-database query and answers "unset": the page
    then wrote the list back holding the new id alone, every other tenant dropped from it. The
    page reads the Variable's row in the transaction that writes it."""
    import json

    from airflow.models import Variable
    from airflow.secrets.metastore import MetastoreBackend
    from sendgrid_connect.new_tenant import create_tenant
    from sqlalchemy.exc import OperationalError

    def failing(self: object, *args: object, **kwargs: object) -> None:
        raise OperationalError("select", {}, Exception("database is locked"))

    before = _registered()
    Variable.set(TENANTS_VARIABLE, json.dumps(["acme_one", "acme_two"]))
    conn_id = new_conn_id("keeps")
    try:
        with monkeypatch.context() as patched:
            patched.setattr(MetastoreBackend, "get_variable", failing)
            create_tenant(conn_id, "Acme Keeps", host=None, client_id="client",
                          client_secret="secret")  # fmt: skip
        assert json.loads(_registered() or "[]") == sorted(["acme_one", "acme_two", conn_id])
        assert _stored(conn_id)
    finally:
        from airflow.models import Connection
        from airflow.utils.session import create_session

        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
        if before is None:
            Variable.delete(TENANTS_VARIABLE)
        else:
            Variable.set(TENANTS_VARIABLE, before)


def test_a_tenant_list_the_database_cannot_read_saves_nothing(
    airflow_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The metadata database failing while the page reads ``sendgrid_tenants`` is the page's
    error, and no connection is left behind without its place in the list."""
    import airflow.utils.session
    from sendgrid_connect.new_tenant import create_tenant
    from sendgrid_connect.tenants import TenantError
    from sqlalchemy.exc import OperationalError

    def unreachable() -> None:
        raise OperationalError("select", {}, Exception("server closed the connection"))

    conn_id = new_conn_id("dbdown")
    with monkeypatch.context() as patched:
        patched.setattr(airflow.utils.session, "create_session", unreachable)
        with pytest.raises(TenantError, match="could not be read from the metadata database"):
            create_tenant(conn_id, "Acme Down", host=None, client_id="client",
                          client_secret="secret")  # fmt: skip
    assert not _stored(conn_id)
