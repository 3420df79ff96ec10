"""Who may use the Connect page: Airflow's user, its auth manager, and the CSRF check.

``GetUserDep`` semantics come from Airflow (the UI's ``_token`` cookie or a Bearer token);
authorization asks the configured auth manager about the connection in the path.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request

from sendgrid_connect import signing

_DEFAULT_PORTS = {"http": 80, "https": 443}


def authorize(user: Any, method: str, conn_id: str | None) -> None:
    """Ask the auth manager whether ``user`` may ``method`` the connection ``conn_id``.

    Raises:
        HTTPException: 403 when not allowed.
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails
    from airflow.configuration import conf
    from airflow.models import Connection

    team = None
    if conn_id and conf.getboolean("core", "multi_team", fallback=False):
        team = Connection.get_team_name(conn_id)
    allowed = get_auth_manager().is_authorized_connection(
        method=method, details=ConnectionDetails(conn_id=conn_id, team_name=team), user=user
    )
    if not allowed:
        raise HTTPException(403, "Forbidden: you may not edit Airflow connections")


def readable_connections(user: Any) -> set[str]:
    """The connection ids ``user`` may read.

    Filtered as Airflow's own connection list is: the auth manager's
    ``get_authorized_connections`` (per team in multi-team mode).
    """
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_authorized_connections(user=user, method="GET")


def user_dep() -> Any:
    """Airflow's ``get_user`` dependency (imported late: the API server must be configured)."""
    from airflow.api_fastapi.core_api.security import get_user

    return get_user


async def editor(request: Request, user: Annotated[Any, Depends(user_dep())]) -> Any:
    """Signed-in user allowed to edit the connection in the path (or connections at all)."""
    authorize(user, "PUT", request.path_params.get("connection_id"))
    return user


Editor = Annotated[Any, Depends(editor)]


def user_id(user: Any) -> str:
    """The id of an Airflow user (what CSRF tokens, nonces and logs are bound to)."""
    return str(user.get_id())


def check_csrf(request: Request, user: Any, token: str | None) -> None:
    """Refuse a cross-site form post or a missing/invalid CSRF token of ``user``.

    Raises:
        HTTPException: 403 when the origin or the token is wrong.
    """
    check_origin(request)
    if not signing.csrf_valid(token, user_id(user)):
        raise HTTPException(403, "Missing or invalid CSRF token; reload the page")


def check_origin(request: Request) -> None:
    """Refuse a form post whose ``Origin`` is neither this request's nor ``[api] base_url``'s.

    Behind a TLS-terminating reverse proxy the API server sees ``http://`` (unless it runs with
    ``--proxy-headers``) while the browser sends its ``https://`` origin: the origin of the
    configured public URL is therefore accepted too. No other origin is.

    Raises:
        HTTPException: 403 for a cross-site ``Origin``.
    """
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return
    sent = normalized_origin(origin, bare=True)
    allowed = {normalized_origin(origin_of(request)), normalized_origin(base_url())}
    if sent is None or sent not in allowed:
        raise HTTPException(403, "Cross-site form submission refused")


def origin_of(request: Request) -> str:
    """``scheme://host[:port]`` of the request (compared with the ``Origin`` header)."""
    return f"{request.url.scheme}://{request.url.netloc}"


def base_url() -> str:
    """Airflow's ``[api] base_url`` (the public URL users open) when an http(s) URL, else ``""``."""
    from airflow.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").strip()
    return base if base.lower().startswith(("http://", "https://")) else ""


def public_https() -> bool:
    """Whether the public URL (``[api] base_url``) is https: cookies must then be ``Secure``."""
    return base_url().lower().startswith("https://")


def normalized_origin(url: str, bare: bool = False) -> str | None:
    """``scheme://host[:port]`` of ``url`` as a browser serializes an origin, or ``None``.

    Scheme and host are lowercased and a default port is dropped. With ``bare`` (an ``Origin``
    header) anything beyond the origin (user info, a path, a query) makes it ``None``.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if bare and (
        "@" in parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment
    ):
        return None
    host = f"[{host}]" if ":" in host else host
    return (
        f"{scheme}://{host}"
        if port in (None, _DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )


async def optional_user(request: Request) -> Any | None:
    """The signed-in Airflow user, or ``None`` (the OAuth callback may arrive signed out)."""
    from airflow.api_fastapi.core_api.security import get_user

    try:
        return await get_user(request, None, None)
    except HTTPException:
        return None
