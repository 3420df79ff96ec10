"""The ``sendgrid`` Airflow connections as the Connect page sees them, and how it updates them.

Runs in the API server, which (unlike tasks) may write the metadata database: connections are
read and written with Airflow's own ORM model and session. Everything about *reading* a
connection goes through the provider (:class:`sendgrid_hook.config.SendGridSettings`), and
the OAuth token store is the hook's own (:mod:`sendgrid_hook.auth.token_store`), so the page
and the tasks cannot disagree about where credentials live.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from sendgrid_hook.config import SendGridSettings, has_user_info
from sendgrid_hook.constants import CONN_TYPE
from sendgrid_hook.display import shorten
from sendgrid_hook.errors import SendGridConfigError

log = logging.getLogger(__name__)
CONN_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
#: Extras this page owns; their ``extra__sendgrid__`` twins are dropped when it writes them.
_OWNED_EXTRAS = ("auth_type", "refresh_token", "api_key", "client_id", "client_secret",
                 "display_name", "authorize_url", "token_url")  # fmt: skip
#: Extra holding a random marker that, with the row id, identifies one connection for good: a
#: connection deleted and created again under the same id gets another one.
IDENTITY_EXTRA = "connect_identity"


class TenantError(ValueError):
    """A user-facing problem with a connection (message is safe to show)."""


@dataclass(frozen=True)
class Tenant:
    """One ``sendgrid`` connection, without its secrets."""

    conn_id: str
    display_name: str
    auth_type: str
    base_url: str
    oauth_ready: bool
    has_credential: bool
    config_error: str | None = None


def _extra(conn: Any) -> dict[str, Any]:
    """The connection's extra as a dict (none stored: empty).

    Raises:
        TenantError: It cannot be read (not a JSON object, or not decryptable with the
            configured Fernet key). Read as empty, the next write (a saved key, an invite's
            marker, a fresh grant) stored that empty extra back: the display name, region,
            alert e-mails, subusers filter and OAuth client were gone for good.
    """
    try:
        extra = conn.extra_dejson
    except Exception as exc:
        raise TenantError(
            f"The settings (extra) of connection {conn.conn_id!r} cannot be read "
            f"({type(exc).__name__}): fix them in Admin -> Connections. Nothing was changed."
        ) from None
    return dict(extra or {})


def _view(conn: Any, extra: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(
        conn_id=conn.conn_id,
        host=conn.host,
        login=conn.login,
        password=conn.password,
        description=conn.description,
        extra_dejson=extra,
    )


def settings_of(conn: Any, auth_type: str | None = None) -> SendGridSettings:
    extra = _extra(conn)
    if auth_type:
        extra = {k: v for k, v in extra.items() if k != "extra__sendgrid__auth_type"}
        extra["auth_type"] = auth_type
    return SendGridSettings.from_connection(_view(conn, extra))


def _auth_type(extra: dict[str, Any]) -> str:
    value = extra.get("auth_type") or extra.get("extra__sendgrid__auth_type") or "api_key"
    return str(value).strip().lower()


def describe(conn: Any) -> Tenant:
    """Summarise a connection for the page (never reads secrets into the result)."""
    extra = _extra(conn)
    auth_type = _auth_type(extra)
    display = str(extra.get("display_name") or conn.description or conn.conn_id)
    oauth_ready, error, base_url = False, None, ""
    try:
        oauth = settings_of(conn, "oauth2")
        oauth_ready, base_url, display = True, oauth.base_url, oauth.display_name
    except SendGridConfigError:
        pass
    try:
        current = settings_of(conn)
        base_url, display = current.base_url, current.display_name
        has_credential = bool(current.api_key if auth_type == "api_key" else current.refresh_token)
    except SendGridConfigError as exc:
        has_credential, error = False, str(exc)
    return Tenant(conn.conn_id, display, auth_type, base_url, oauth_ready, has_credential, error)


def describe_safely(conn: Any) -> Tenant:
    """:func:`describe`, or a row that names the problem.

    One broken connection never hides the others from the page.
    """
    try:
        return describe(conn)
    except Exception as exc:
        from sendgrid_hook.redaction import scrub

        log.warning("SendGrid connection %s cannot be read: %s", conn.conn_id, type(exc).__name__)
        problem = (
            f"This connection cannot be read ({type(exc).__name__}: {shorten(scrub(exc), 200)})."
        )
        return Tenant(conn.conn_id, conn.conn_id, "?", "", False, False, problem)


def list_tenants() -> list[Tenant]:
    """Every ``sendgrid`` connection of the metadata database, by id."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        conns = session.scalars(
            select(Connection).where(Connection.conn_type == CONN_TYPE).order_by(Connection.conn_id)
        ).all()
        return [describe_safely(c) for c in conns]


def _load(session: Any, conn_id: str) -> Any:
    from airflow.models import Connection
    from sqlalchemy import select

    conn = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
    if conn is None or conn.conn_type != CONN_TYPE:
        raise TenantError(f"There is no SendGrid connection {conn_id!r}.")
    return conn


def identity(conn_id: str, *, create: bool = False) -> str | None:
    """The identity of the connection now stored as ``conn_id``: its row id and a random marker.

    Args:
        conn_id: The connection id.
        create: Give the connection a marker if it has none yet (stored in its extras).

    Returns:
        ``"<row id>:<marker>"``, or None when the connection has no marker (and ``create`` is
        false).

    Raises:
        TenantError: No such ``sendgrid`` connection.
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = _load(session, conn_id)
        marker = _extra(conn).get(IDENTITY_EXTRA)
        if not isinstance(marker, str) or not marker:
            if not create:
                return None
            marker = secrets.token_urlsafe(24)
            write_extra(conn, {IDENTITY_EXTRA: marker})
            session.flush()
        return f"{conn.id}:{marker}"


def get_tenant(conn_id: str) -> Tenant:
    """The tenant of ``conn_id``.

    Raises:
        TenantError: No such ``sendgrid`` connection.
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        return describe(_load(session, conn_id))


def oauth_settings(conn_id: str) -> SendGridSettings:
    """Settings of ``conn_id`` read as OAuth2 (client id/secret, token URL).

    Raises:
        TenantError: No such connection, or no OAuth client configured.
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = _load(session, conn_id)
        try:
            return settings_of(conn, "oauth2")
        except SendGridConfigError as exc:
            raise TenantError(f"{exc}. Add the OAuth client id and secret first.") from None


def authorize_url(conn_id: str) -> str:
    """Authorization endpoint: the ``authorize_url`` extra, else ``<base URL>/oauth/authorize``.

    Raises:
        TenantError: The endpoint carries a user name or password (the browser is sent there).
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = _load(session, conn_id)
        extra = _extra(conn)
        explicit = extra.get("authorize_url") or extra.get("extra__sendgrid__authorize_url")
        url = (
            str(explicit) if explicit else f"{settings_of(conn, 'oauth2').base_url}/oauth/authorize"
        )
    no_user_info(url)
    return url


def no_user_info(url: str | None) -> None:
    """Refuse an OAuth endpoint with ``user:password@``: the browser's redirect would show it."""
    if has_user_info(url):
        raise TenantError("The authorization URL must not carry a user name or password.")


def check_transport(url: str) -> None:
    """Accept an OAuth endpoint: https only; plain http only for a loopback host (the simulator).

    Raises:
        TenantError: Any other scheme or host.
    """
    from sendgrid_hook.auth.token_session import is_loopback_http

    try:
        is_loopback_http(url)
    except SendGridConfigError:
        raise TenantError("OAuth endpoints must use https (http only for localhost).") from None


def write_extra(conn: Any, updates: dict[str, Any], remove: tuple[str, ...] = ()) -> None:
    extra = _extra(conn)
    for key in (*updates, *remove):
        extra.pop(f"extra__{CONN_TYPE}__{key}", None)
        extra.pop(key, None)
    extra.update({k: v for k, v in updates.items() if v not in (None, "")})
    conn.set_extra(json.dumps(extra))


def save_oauth_tokens(conn_id: str, token: dict[str, Any]) -> None:
    """Store a fresh grant: the refresh token in the connection, the access token in the store.

    The hook prefers its token store (an Airflow Variable) over the connection's
    ``refresh_token``; the store is overwritten here with a state derived from the new refresh
    token, so no stale (revoked) token of the previous grant can win.
    """
    from airflow.utils.session import create_session
    from sendgrid_hook.auth.token_store import (
        StoredToken,
        VariableTokenStore,
        binding_of,
        fingerprint,
    )

    refresh_token = token.get("refresh_token")
    if not refresh_token or not token.get("access_token"):
        raise TenantError("The SendGrid authorization server returned no refresh token.")
    with create_session() as session:
        conn = _load(session, conn_id)
        write_extra(conn, {"auth_type": "oauth2", "refresh_token": refresh_token})
        try:  # the hook uses the stored tokens only for this endpoint and client
            s = settings_of(conn, "oauth2")
            binding = binding_of(s.base_url, s.token_url, s.client_id)
        except SendGridConfigError:
            binding = None  # then the seed fingerprint alone binds them
    now = time.time()
    expires_at = token.get("expires_at") or now + float(token.get("expires_in") or 3600)
    VariableTokenStore().save(
        conn_id,
        StoredToken(
            refresh_token=refresh_token,
            access_token=token["access_token"],
            expires_at=float(expires_at),
            rotated_at=now,
            seed_fingerprint=fingerprint(refresh_token),
            binding=binding,
        ),
    )


def verify_api_key(conn_id: str, api_key: str) -> frozenset[str]:
    """``GET /v3/scopes`` with a candidate key, through the hook, before anything is saved.

    Raises:
        sendgrid_hook.errors.SendGridError: The key was refused or the call failed.
    """
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = _load(session, conn_id)
        view = _view(conn, {**_extra(conn), "auth_type": "api_key"})
        view.password = api_key
        view.extra_dejson.pop("extra__sendgrid__auth_type", None)
        settings = SendGridSettings.from_connection(view)
    hook = hook_for(replace(settings, max_retries=min(settings.max_retries, 2)))
    try:
        return hook.granted_scopes()
    finally:
        hook.close()


def hook_for(settings: SendGridSettings) -> Any:
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    return SendGridHook(settings.conn_id, settings=settings)  # the candidate's, not the stored


def save_api_key(conn_id: str, api_key: str) -> None:
    """Store a verified API key and switch the connection to API-key mode."""
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = _load(session, conn_id)
        conn.password = api_key
        write_extra(conn, {"auth_type": "api_key"}, remove=("api_key",))


def test_tenant(conn_id: str) -> tuple[bool, str]:
    """The hook's own ``test_connection`` (the Airflow Test button runs the same)."""
    from sendgrid_hook.hooks.sendgrid import SendGridHook

    get_tenant(conn_id)
    hook = SendGridHook(conn_id)
    try:
        return hook.test_connection()
    finally:
        hook.close()
