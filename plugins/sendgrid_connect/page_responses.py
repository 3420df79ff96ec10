"""Responses of the Connect page: security headers, pages, flashes, redirects, the bind cookie."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sendgrid_hook.config import REGION_HOSTS
from sendgrid_hook.display import shorten

from sendgrid_connect import access, health, invites, oauth, pages, signing, tenants

BIND_COOKIE = "sendgrid_connect_bind"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "frame-ancestors 'self'; base-uri 'none'"
    ),
}


def prefix(request: Request) -> str:
    return request.scope.get("root_path", "") or signing.APP_PREFIX


def public_url(request: Request, route: str, **params: str) -> str:
    """The URL of ``route`` on Airflow's ``[api] base_url`` when set, else on the request's host.

    Links that leave the server (the OAuth callback, invite links) are built on the configured
    base URL, never on a ``Host`` header a proxy or client chose.
    """
    path = request.app.url_path_for(route, **params)
    base = access.base_url()
    if base:
        return f"{base.rstrip('/')}{signing.APP_PREFIX}{path}"
    return str(request.url_for(route, **params))


def redirect_uri(request: Request) -> str:
    """The OAuth callback URL registered with the authorization server."""
    return public_url(request, "oauth_callback")


def html_response(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status)


def message_page(
    request: Request, title: str, kind: str, text: str, status: int, back: bool = True
):
    return html_response(
        pages.render(
            "message",
            title=title,
            flash={"kind": kind, "text": text},
            back=f"{prefix(request)}/connections" if back else None,
        ),
        status,
    )


def sign_in_page(request: Request, text: str, back: str, *, new_tab: bool = False) -> Response:
    """401 with a link to Airflow's sign-in, which returns to ``back`` (this app's own path).

    Args:
        request: The request refused.
        text: Why signing in is needed.
        back: Where the sign-in returns to.
        new_tab: Open the sign-in in a new tab (this page is reloaded once signed in).
    """
    from urllib.parse import quote

    root = prefix(request).removesuffix(signing.APP_PREFIX)  # Airflow under a sub-path
    login = f"{root}/auth/login?next=" + quote(back, safe="")
    body = pages.render("message", title="Sign in required", flash={"kind": "error",
                        "text": text}, back=None, login=login, login_new_tab=new_tab)  # fmt: skip
    return html_response(body, 401)


def flash_redirect(request: Request, kind: str, text: str, **extra: Any) -> RedirectResponse:
    token = signing.sign({"k": kind, "t": text, **extra}, signing.SALT_FLASH)
    url = f"{prefix(request)}/connections?{urlencode({'flash': token})}"
    return RedirectResponse(url, status_code=303)


def read_flash(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        data = signing.unsign(token, signing.SALT_FLASH, signing.FLASH_TTL)
    except signing.InvalidSignedValue:
        return None
    form = {k: str(v) for k, v in (data.get("f") or {}).items()}  # the Connect form as typed
    return {"kind": data.get("k"), "text": data.get("t"), "disabled": data.get("d"), "form": form}


def set_bind_cookie(request: Request, response: Response, value: str) -> None:
    """Set the OAuth flow's browser binding (``Secure`` when the request or public URL is https).

    Behind a TLS-terminating proxy the request arrives as ``http://``: the configured public
    URL (``[api] base_url``) tells that the browser is on https.
    """
    response.set_cookie(
        BIND_COOKIE, value, max_age=signing.STATE_TTL, **_bind_cookie_attributes(request)
    )


def clear_bind_cookie(request: Request, response: Response) -> None:
    """Delete the bind cookie (with the attributes it was set with)."""
    response.delete_cookie(BIND_COOKIE, **_bind_cookie_attributes(request))


def _bind_cookie_attributes(request: Request) -> dict[str, Any]:
    secure = request.url.scheme == "https" or access.public_https()
    return {"path": prefix(request), "httponly": True, "secure": secure, "samesite": "lax"}


def start_flow(
    request: Request, conn_id: str, actor: str, next_path: str | None = None
) -> RedirectResponse:
    bind = secrets.token_urlsafe(24)
    url = oauth.start(conn_id, actor, redirect_uri(request), bind, next_path)
    response = RedirectResponse(url, status_code=303)
    set_bind_cookie(request, response, bind)
    return response


def valid_invite(token: str, *, form: bool = False) -> invites.Invite:
    """The invite of a link's token (or of the landing page's form token); else a 410."""
    try:
        return invites.validate_form(token) if form else invites.validate(token)
    except invites.InviteInvalid as exc:
        raise HTTPException(410, str(exc)) from None


def sendgrid_errors() -> tuple[type[Exception], ...]:
    from sendgrid_hook.errors import SendGridError

    return (SendGridError,)


def key_refused(exc: Exception) -> str:
    from sendgrid_hook.errors import ReconnectRequired
    from sendgrid_hook.redaction import scrub

    if isinstance(exc, ReconnectRequired):
        return "SendGrid rejected this API key (401). Nothing was saved."
    return f"Could not verify the API key: {shorten(scrub(str(exc)), 300)}. Nothing was saved."


def _is_conn_id(value: str | None) -> bool:
    """Whether ``value`` is an id Airflow takes for a connection.

    Only such a ``?tenant=`` is named in the page: a crafted link's sentences, or a bidi
    override, are not echoed.
    """
    from airflow.models.connection import sanitize_conn_id

    return bool(value) and sanitize_conn_id(value) == value


def list_page(
    request: Request,
    user: Any,
    flash: dict[str, Any] | None,
    invite: dict[str, str] | None = None,
    focus: str | None = None,
) -> str:
    by_id = health.read_all()
    readable = access.readable_connections(user)  # a team sees its own connections only
    rows = []
    for tenant in tenants.list_tenants():
        if tenant.conn_id not in readable:
            continue
        h = (
            health.Health("unknown")
            if by_id is None
            else by_id.get(tenant.conn_id, health.Health())
        )
        rows.append(
            {
                "tenant": tenant,
                "health": h,
                "connected_before": tenant.has_credential or h.status != "never_connected",
            }
        )
    return pages.render(
        "list",
        title="SendGrid connections",
        rows=rows,
        flash=flash,
        invite=invite,
        focus=focus,
        focus_missing=_is_conn_id(focus) and focus not in {r["tenant"].conn_id for r in rows},
        regions=REGION_HOSTS,
        prefix=prefix(request),
        csrf=signing.csrf_token(access.user_id(user)),
    )
