"""A new ``sendgrid`` connection from the Connect page, listed in the ``sendgrid_tenants`` Variable.

Everything a request could be refused for is checked before anything is saved, and the
connection and the Variable are written in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sendgrid_hook.constants import CONN_TYPE
from sendgrid_hook.errors import SendGridConfigError

from sendgrid_connect.tenants import (
    CONN_ID_RE,
    TenantError,
    check_transport,
    hook_for,
    no_user_info,
    settings_of,
    write_extra,
)


def create_tenant(
    conn_id: str,
    display_name: str,
    host: str | None,
    client_id: str | None,
    client_secret: str | None,
    authorize_endpoint: str | None = None,
    api_key: str | None = None,
    region: str = "global",
) -> None:
    """Create a new ``sendgrid`` connection and list it in the ``sendgrid_tenants`` Variable.

    ``region`` (``global`` or ``eu``) picks SendGrid's API host when ``host`` is empty.

    With ``api_key`` the key is verified (``GET /v3/scopes``) before anything is saved; with an
    OAuth client the connection is saved without a credential and the caller starts the flow.
    Everything the flow's start checks (the endpoints' transport) and the ``sendgrid_tenants``
    Variable are checked first, and the connection and the Variable are written in one
    transaction: a refused request leaves nothing behind.

    Raises:
        TenantError: Invalid or already used id, incomplete OAuth client, an OAuth endpoint
            neither https nor loopback http, a ``sendgrid_tenants`` Variable that cannot be read.
        sendgrid_hook.errors.SendGridError: The API key was refused.
    """
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if not CONN_ID_RE.match(conn_id or ""):
        raise TenantError("The connection id may use letters, digits, '_', '.' and '-' only.")
    auth_type = "oauth2" if client_id else "api_key"
    no_user_info(authorize_endpoint)
    _registered_tenants()  # readable, or nothing is saved
    with create_session() as session:
        if session.scalar(select(Connection.conn_id).where(Connection.conn_id == conn_id)):
            raise TenantError(f"A connection {conn_id!r} already exists.")
        conn = Connection(
            conn_id=conn_id,
            conn_type=CONN_TYPE,
            description=display_name or conn_id,
            host=(host or "").strip() or None,
            password=api_key or None,
        )
        write_extra(
            conn,
            {
                "display_name": display_name,
                "region": region,
                "client_id": client_id,
                "client_secret": client_secret,
                "authorize_url": authorize_endpoint,
                "auth_type": auth_type,
            },
        )
        try:
            settings = settings_of(conn)
        except SendGridConfigError as exc:
            raise TenantError(str(exc)) from None
        if client_id:  # what oauth.start refuses, refused before anything is saved
            check_transport(authorize_endpoint or f"{settings.base_url}/oauth/authorize")
            check_transport(settings.token_url or "")
        if api_key and not client_id:
            hook = hook_for(replace(settings, max_retries=min(settings.max_retries, 2)))
            try:
                hook.granted_scopes()
            finally:
                hook.close()
        session.add(conn)
        _register_tenant(session, conn_id)


def _registered_tenants(session: Any | None = None) -> list[str]:
    """The ids in the ``sendgrid_tenants`` Variable (:func:`.tenants.stored_tenant_ids`).

    Raises:
        TenantError: The Variable cannot be read (the metadata database failed, or it is
            neither a JSON list nor a comma/space list).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from sendgrid_elt.tenants import TENANTS_VARIABLE, stored_tenant_ids

    try:
        return stored_tenant_ids(session)
    except SQLAlchemyError as exc:
        raise TenantError(
            f"The Airflow Variable {TENANTS_VARIABLE!r} could not be read from the metadata "
            f"database ({type(exc).__name__}): try again. Nothing was saved."
        ) from None
    except (ValueError, TypeError) as exc:
        raise TenantError(
            f"The Airflow Variable {TENANTS_VARIABLE!r} cannot be read ({type(exc).__name__}): "
            "fix it (Admin -> Variables; a JSON list of connection ids) and try again. "
            "Nothing was saved."
        ) from None


def _register_tenant(session: Any, conn_id: str) -> None:
    """Add ``conn_id`` to the ``sendgrid_tenants`` Variable, in the connection's transaction.

    The Variable is read again here, locked (it was checked before the slow key check): an id
    another page added meanwhile is kept.
    """
    from airflow.models import Variable

    from sendgrid_elt.tenants import TENANTS_VARIABLE

    current = _registered_tenants(session)
    if conn_id not in current:
        Variable.set(
            TENANTS_VARIABLE,
            json.dumps(sorted({*current, conn_id})),
            description="SendGrid tenants stored in the metadata database (Connect page adds)",
            session=session,
        )
