"""Who may use the Connect page: Airflow's user, its auth manager, and the CSRF check.

``GetUserDep`` semantics come from Airflow (the UI's ``_token`` cookie or a Bearer token);
authorization asks the configured auth manager about the connection in the path.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from sendgrid_connect import signing


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
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.rstrip("/") != origin_of(request):
        raise HTTPException(403, "Cross-site form submission refused")
    if not signing.csrf_valid(token, user_id(user)):
        raise HTTPException(403, "Missing or invalid CSRF token; reload the page")


def origin_of(request: Request) -> str:
    """``scheme://host[:port]`` of the request (compared with the ``Origin`` header)."""
    return f"{request.url.scheme}://{request.url.netloc}"


async def optional_user(request: Request) -> Any | None:
    """The signed-in Airflow user, or ``None`` (the OAuth callback may arrive signed out)."""
    from airflow.api_fastapi.core_api.security import get_user

    try:
        return await get_user(request, None, None)
    except HTTPException:
        return None
