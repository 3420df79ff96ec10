"""The Connect page: a FastAPI app mounted by the plugin at ``/sendgrid`` in the API server.

Endpoints and their protection (Airflow's own dependencies: ``GetUserDep`` reads the UI's
``_token`` cookie or a Bearer token; authorization asks the configured auth manager):

=====================================  ======================================================
``GET  /connections``                  signed in + may edit connections (``PUT``)
``POST /connections``                  + may create connections (``POST``), CSRF token
``POST /connections/{id}/connect``     + may edit ``{id}``, CSRF token; 303 to the provider
``POST /connections/{id}/api-key``     + may edit ``{id}``, CSRF token
``POST /connections/{id}/test``        + may edit ``{id}``, CSRF token
``POST /connections/{id}/invite``      + may edit ``{id}``, CSRF token
``GET  /oauth/callback``               no Airflow auth: a valid, unused, signed ``state`` bound
                                       to this browser (cookie) and, unless started from an
                                       invite, to the same signed-in Airflow user
``GET  /invite``                       no Airflow auth: reads the link's token from the fragment
``POST /invite``                       no Airflow auth: a valid, unused, unexpired signed invite
``POST /invite/start``                 no Airflow auth: the landing page's signed form token
=====================================  ======================================================

Every response is ``no-store``, ``no-referrer`` and may only be framed by the Airflow UI.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sendgrid_hook.display import plural
from sendgrid_hook.errors import SendGridConfigError

from sendgrid_connect import (
    access,
    access_log,
    health,
    invites,
    new_tenant,
    nonces,
    oauth,
    pages,
    signing,
    tenants,
)
from sendgrid_connect.page_responses import (
    BIND_COOKIE,
    SECURITY_HEADERS,
    clear_bind_cookie,
    flash_redirect,
    html_response,
    key_refused,
    list_page,
    message_page,
    prefix,
    public_url,
    read_flash,
    redirect_uri,
    sendgrid_errors,
    sign_in_page,
    start_flow,
    valid_invite,
)

log = logging.getLogger(__name__)

__all__ = ["BIND_COOKIE", "create_app"]


# -- the app ------------------------------------------------------------------------------
def _crashed(request: Request, exc: Exception) -> Response:
    """A route's unexpected error: a plain 500 page, and a log line without its message.

    The message may quote what the admin typed (``http.client`` quotes a header value it
    refuses: a pasted API key), and the API server's log masks no secret of ours, so only the
    error's type and where it was raised are logged (uvicorn would log the whole traceback).
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    log.error("SendGrid connections: %s %s failed with %s at %s (message not logged: it may "
              "quote a secret)", request.method, request.url.path, type(exc).__name__,
              where)  # fmt: skip
    text = "The server failed to handle this request; its log names where. Please try again."
    return message_page(request, "Something went wrong", "error", text, 500)


def create_app() -> FastAPI:
    """Build the FastAPI sub-application (mounted under ``/sendgrid`` by the plugin)."""
    app = FastAPI(
        title="SendGrid connections",
        description="Connect / Reconnect SendGrid organizations (Airflow plugin).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        try:
            response = await call_next(request)
        except Exception as exc:  # logged by its type and place, never its text
            response = _crashed(request, exc)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    # outermost: once answered, the OAuth code and state are gone from the access log's query
    app.add_middleware(access_log.ScrubSecretQueryMiddleware)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        if exc.status_code == 401:
            here = prefix(request)
            path = request.scope.get("path", "")  # with the mount's prefix or without it
            path = path[len(here) :] if path.startswith(here + "/") else path
            back = f"{here}/connections"  # after signing in: the page asked for (a GET)
            if request.method == "GET" and path.startswith("/"):
                back = here + path + (f"?{request.url.query}" if request.url.query else "")
            return sign_in_page(request, "Sign in to Airflow to manage SendGrid.", back)
        text = exc.detail if isinstance(exc.detail, str) else "Request refused"
        return message_page(request, "Not allowed", "error", text, exc.status_code, back=False)

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{prefix(request)}/connections", status_code=303)

    @app.get("/connections", response_class=HTMLResponse)
    def list_connections(
        request: Request, user: access.Editor, flash: str | None = None, tenant: str | None = None
    ) -> HTMLResponse:
        return html_response(list_page(request, user, read_flash(flash), focus=tenant))

    @app.post("/connections")
    def create_connection(
        request: Request,
        user: Annotated[Any, Depends(access.user_dep())],
        csrf: Annotated[str, Form()] = "",
        conn_id: Annotated[str, Form()] = "",
        display_name: Annotated[str, Form()] = "",
        host: Annotated[str, Form()] = "",
        region: Annotated[str, Form()] = "global",
        client_id: Annotated[str, Form()] = "",
        client_secret: Annotated[str, Form()] = "",
        api_key: Annotated[str, Form()] = "",
    ) -> Response:
        access.authorize(user, "POST", None)
        access.check_csrf(request, user, csrf)
        conn_id = conn_id.strip()
        # after an error the form is shown again with what was typed, never the secrets (nor a
        # base URL with user info: the flash travels in the redirect's query string)
        typed = {"conn_id": conn_id, "display_name": display_name, "region": region,
                 "host": "" if "@" in host else host, "client_id": client_id}  # fmt: skip
        if not client_id.strip() and not api_key.strip():
            return flash_redirect(request, "error", "Give an OAuth client or an API key.", f=typed)
        try:
            new_tenant.create_tenant(
                conn_id,
                display_name.strip(),
                host.strip() or None,
                client_id.strip() or None,
                client_secret.strip() or None,
                api_key=api_key.strip() or None,
                region=region.strip() or "global",
            )
        except tenants.TenantError as exc:
            return flash_redirect(request, "error", str(exc), f=typed)
        except sendgrid_errors() as exc:
            return flash_redirect(request, "error", key_refused(exc), f=typed)
        if client_id.strip():
            try:
                return start_flow(request, conn_id, f"user:{access.user_id(user)}")
            except tenants.TenantError as exc:  # checked before saving; the row can retry
                text = f"Saved {conn_id}, but the authorization could not start: {exc}"
                return flash_redirect(request, "error", text)
        check = health.record_check(conn_id)
        kind, text, disabled = health.connected_flash(conn_id, " with an API key", check)
        return flash_redirect(request, kind, text, d=disabled)

    @app.post("/connections/{connection_id:path}/connect")
    def connect(
        request: Request,
        connection_id: str,
        user: access.Editor,
        csrf: Annotated[str, Form()] = "",
        next: Annotated[str | None, Form()] = None,
    ) -> Response:
        access.check_csrf(request, user, csrf)
        try:
            next_path = signing.safe_next(next) if next else None
        except signing.InvalidSignedValue:
            raise HTTPException(400, "Redirect target outside the SendGrid page refused") from None
        try:
            return start_flow(request, connection_id, f"user:{access.user_id(user)}", next_path)
        except tenants.TenantError as exc:
            return flash_redirect(request, "error", str(exc))

    # Every route doing I/O is a plain ``def``: FastAPI runs it in its thread pool, so the
    # metadata DB, the token exchange and the SendGrid calls never block the API server's loop.
    @app.get("/oauth/callback", name="oauth_callback")
    def oauth_callback(
        request: Request,
        user: Annotated[Any, Depends(access.optional_user)],
        state: str | None = None,
        code: str | None = None,
        error: str | None = None,
    ) -> Response:
        try:
            result = oauth.finish(
                state,
                code,
                error,
                redirect_uri(request),
                request.cookies.get(BIND_COOKIE),
                access.user_id(user) if user else None,
            )
        except oauth.FlowError as exc:
            log.warning("SendGrid OAuth callback refused: %s", exc)
            if exc.status == 401:  # signed out meanwhile: the state is still unused
                return sign_in_page(request, str(exc), f"{prefix(request)}/connections",
                                    new_tab=True)  # fmt: skip
            response = message_page(request, "Connection not completed", "error", str(exc),
                                exc.status, back=user is not None)  # fmt: skip
            return response
        except tenants.TenantError as exc:
            return message_page(request, "Connection not completed", "error", str(exc), 400)
        invites.revoke(result.conn_id)  # a credential is saved: older links are done
        # an invitee is no admin: the page never tells them about other connections
        check = health.record_check(result.conn_id, counted_by=not result.invite)
        log.info("SendGrid connection %s authorized (%s)", result.conn_id, check.note)
        if result.invite:
            kind, text = "ok", "The SendGrid organization is connected."
            if check.failed:
                kind = "warn"
                text = ("Your approval was saved, but checking the access failed: the Airflow "
                        "admin who sent the link sees the connection's status.")  # fmt: skip
            elif check.missing:
                kind = "warn"
                text = (
                    "The SendGrid organization is connected, but the access you approved lacks "
                    f"{len(check.missing)} {plural('scope', len(check.missing))} "
                    f"({', '.join(check.missing)}): that usage "
                    "data stays unreadable until they are granted."
                )
            text = f"{text} You can close this window."
            response = message_page(request, "Thank you", kind, text, 200, back=False)
        else:
            kind, text, disabled = health.connected_flash(result.conn_id, "", check)
            response = flash_redirect(request, kind, text, d=disabled)
            if result.next_path:
                response.headers["location"] = result.next_path
        clear_bind_cookie(request, response)
        return response

    @app.post("/connections/{connection_id:path}/api-key")
    def save_api_key(
        request: Request,
        connection_id: str,
        user: access.Editor,
        csrf: Annotated[str, Form()] = "",
        api_key: Annotated[str, Form()] = "",
    ) -> Response:
        access.check_csrf(request, user, csrf)
        key = api_key.strip()
        if not key or len(key) > 512:
            return flash_redirect(request, "error", "Paste the API key.")
        try:
            granted = tenants.verify_api_key(connection_id, key)
        except tenants.TenantError as exc:
            return flash_redirect(request, "error", str(exc))
        except sendgrid_errors() as exc:
            return flash_redirect(request, "error", key_refused(exc))
        tenants.save_api_key(connection_id, key)
        invites.revoke(connection_id)
        check = health.record_check(connection_id)
        missing, optional = health.scope_gaps(granted)  # known even when the check failed
        check = check._replace(missing=missing, optional=optional)
        kind, text, disabled = health.connected_flash(connection_id, " with an API key", check)
        return flash_redirect(request, kind, text, d=disabled)

    @app.post("/connections/{connection_id:path}/test")
    def test_connection(
        request: Request, connection_id: str, user: access.Editor, csrf: Annotated[str, Form()] = ""
    ) -> Response:
        access.check_csrf(request, user, csrf)
        try:
            ok, text = tenants.test_tenant(connection_id)
        except tenants.TenantError as exc:
            return flash_redirect(request, "error", str(exc))
        return flash_redirect(request, "ok" if ok else "error", f"Test {connection_id}: {text}")

    @app.post("/connections/{connection_id:path}/invite", response_class=HTMLResponse)
    def create_invite(
        request: Request, connection_id: str, user: access.Editor, csrf: Annotated[str, Form()] = ""
    ) -> Response:
        access.check_csrf(request, user, csrf)
        try:
            tenant = tenants.get_tenant(connection_id)
            tenants.oauth_settings(connection_id)
        except tenants.TenantError as exc:
            return flash_redirect(request, "error", str(exc))
        token = invites.issue(connection_id, access.user_id(user))
        # the token goes in the fragment: browsers never send it, so no access log records it
        url = f"{public_url(request, 'invite_landing')}#{token}"
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=signing.INVITE_TTL)
        invite = {
            "url": url,
            "name": tenant.display_name,
            "expires": expires.strftime("%Y-%m-%d %H:%M"),
        }
        log.info("invite link created for %s by %s", connection_id, access.user_id(user))
        return html_response(list_page(request, user, None, invite=invite, focus=connection_id))

    @app.get("/invite", name="invite_landing", response_class=HTMLResponse)
    def invite_landing(request: Request) -> HTMLResponse:
        # the link is ``/invite#<token>``: this page's script posts the fragment to invite_open
        action = str(request.url_for("invite_open").path)
        response = html_response(pages.render("invite_open", title="Connect SendGrid",
                                              action=action))  # fmt: skip
        csp = SECURITY_HEADERS["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = f"{csp}; {pages.INVITE_SCRIPT_CSP}"
        return response

    @app.post("/invite", name="invite_open", response_class=HTMLResponse)
    def invite_open(
        request: Request, token: Annotated[str, Form()] = "", link: Annotated[str, Form()] = ""
    ) -> HTMLResponse:
        # ``link``: the whole link, pasted where JavaScript is off; the token follows its "#"
        invite = valid_invite(unquote((token or link).rsplit("#", 1)[-1].strip()))
        try:
            tenant = tenants.get_tenant(invite.conn_id)
            # where "Continue" sends the invitee: named, as the endpoint is the admin's setting
            sign_in_host = urlsplit(tenants.authorize_url(invite.conn_id)).netloc
        except tenants.TenantError:
            raise HTTPException(410, "This invitation link is no longer valid") from None
        except SendGridConfigError:  # the admin changed the OAuth settings after inviting
            raise HTTPException(
                409,
                "This connection's OAuth settings are incomplete or invalid; ask the person who "
                "sent the link to fix them and send a new one",
            ) from None
        action = str(request.url_for("invite_start").path)
        page = pages.render("invite", title="Connect SendGrid", name=tenant.display_name,
                            action=action, csrf=invites.form_token(invite),
                            sign_in_host=sign_in_host)  # fmt: skip
        return html_response(page)

    @app.post("/invite/start", name="invite_start")
    def invite_start(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        # ``csrf``: the landing page's form token, bound to the invite (not the link's token)
        invite = valid_invite(csrf, form=True)
        access.check_origin(request)
        if not nonces.consume(invite.nonce, "invite"):
            raise HTTPException(410, "This invitation link has expired or was already used")
        try:
            return start_flow(request, invite.conn_id, f"{nonces.INVITE_ACTOR}{invite.nonce}")
        except tenants.TenantError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.get("/invite/{old_link:path}", include_in_schema=False)
    def invite_old_link(old_link: str) -> HTMLResponse:
        # links made before the token moved to the fragment (their tokens are refused anyway)
        raise HTTPException(410, "This invitation link is no longer valid; ask the person who "
                                 "sent it for a new one")  # fmt: skip

    return app
