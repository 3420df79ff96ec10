"""OAuth 2.0 authorization server (RFC 6749 code grant + RFC 7636 PKCE S256 + RFC 7009 revoke).

SendGrid itself only accepts API keys; this server exists so the pipeline's OAuth path and
its Connect/Reconnect flow can be exercised. Pages are plain HTML forms (no JavaScript) with
stable element ids: ``#username``, ``#password``, ``#login``, ``#approve``, ``#deny``.
Refresh tokens rotate: each is single-use; presenting a rotated one fails with
``invalid_grant`` and revokes the whole grant (reuse detection).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from . import scopes as scope_names
from .tenants import Tenant
from .wire import Reply, Request, html_reply, json_reply, redirect
from .world import Credential, World

CODE_TTL = 600
TICKET_TTL = 900
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_AUTH_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                "code_challenge_method")  # fmt: skip


@dataclass
class Grant:
    """One authorization (a refresh-token family)."""

    grant_id: str
    tenant_id: str
    client_id: str
    scopes: frozenset[str]
    revoked: bool = False
    refresh_tokens: list[str] = field(default_factory=list)
    access_tokens: list[str] = field(default_factory=list)


@dataclass
class PendingCode:
    """An issued, not yet redeemed authorization code."""

    grant_scopes: frozenset[str]
    tenant_id: str
    client_id: str
    redirect_uri: str
    challenge: str
    expires_at: float
    used: bool = False
    grant_id: str | None = None


class OAuthServer:
    """Authorization, token and revocation endpoints backed by a :class:`World`."""

    def __init__(self, world: World) -> None:
        """Register one client per tenant."""
        self.world = world
        self.access_token_ttl = 3600
        self.lock = threading.Lock()
        self.clients: dict[str, Tenant] = {t.oauth.client_id: t for t in world.tenants}
        self.extra_redirects: dict[str, set[str]] = {}
        self.codes: dict[str, PendingCode] = {}
        self.tickets: dict[str, tuple[dict[str, str], float]] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh: dict[str, tuple[str, str]] = {}  # token -> (grant_id, active|rotated)

    # ----- authorize ----------------------------------------------------------------------
    def redirect_allowed(self, client_id: str, uri: str) -> bool:
        """Loopback ``http://127.0.0.1:*/…`` and ``http://localhost:*/…``, plus registered URIs."""
        if uri in self.extra_redirects.get(client_id, set()):
            return True
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and not parts.fragment

    def authorize(self, req: Request) -> Reply:
        """``GET``/``POST /oauth/authorize``: login page, consent page, redirect."""
        form = req.form() if req.method == "POST" else {}
        if form.get("ticket"):
            return self._consent_decision(form)
        p = {k: (form.get(k) if req.method == "POST" else req.q(k)) or "" for k in _AUTH_PARAMS}
        tenant = self.clients.get(p["client_id"])
        if tenant is None:
            return _error_page("Unknown client_id.")
        if not p["redirect_uri"] or not self.redirect_allowed(p["client_id"], p["redirect_uri"]):
            return _error_page("The redirect_uri is not registered for this client.")
        if p["response_type"] != "code":
            return self._redirect_error(p, "unsupported_response_type")
        if not p["code_challenge"] or p["code_challenge_method"] != "S256":
            return self._redirect_error(p, "invalid_request", "PKCE with S256 is required")
        granted = self._requested_scopes(tenant, p["scope"])
        if granted is None:
            return self._redirect_error(p, "invalid_scope")
        if req.method == "GET" or form.get("action") != "login":
            return html_reply(_login_page(p))
        oauth = tenant.oauth
        ok_user = hmac.compare_digest(form.get("username", ""), oauth.login)
        ok_pass = hmac.compare_digest(form.get("password", ""), oauth.password)
        if not (ok_user and ok_pass):
            return html_reply(_login_page(p, "Invalid username or password."), 401)
        ticket = secrets.token_urlsafe(24)
        with self.lock:
            self.tickets[ticket] = (p, time.time() + TICKET_TTL)
        return html_reply(_consent_page(tenant, ticket, sorted(granted)))

    def _requested_scopes(self, tenant: Tenant, requested: str) -> frozenset[str] | None:
        allowed = {s for s in scope_names.full_scopes(tenant.features)
                   if s in scope_names.READ_SCOPES}  # fmt: skip
        if not requested.strip():
            return frozenset(allowed)
        wanted = set(requested.split())
        if not wanted <= allowed:
            return None
        return frozenset(wanted)

    def _consent_decision(self, form: dict[str, str]) -> Reply:
        with self.lock:
            entry = self.tickets.pop(form["ticket"], None)
        if entry is None or entry[1] < time.time():
            return _error_page("This authorization request expired; start again.")
        p = entry[0]
        if form.get("decision") != "approve":
            return self._redirect_error(p, "access_denied")
        tenant = self.clients[p["client_id"]]
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.codes[code] = PendingCode(
                self._requested_scopes(tenant, p["scope"]) or frozenset(),
                tenant.tenant_id,
                p["client_id"],
                p["redirect_uri"],
                p["code_challenge"],
                time.time() + CODE_TTL,
            )
        query = {"code": code}
        if p["state"]:
            query["state"] = p["state"]
        return redirect(_with_query(p["redirect_uri"], query))

    def _redirect_error(self, p: dict[str, str], err: str, description: str = "") -> Reply:
        query = {"error": err}
        if description:
            query["error_description"] = description
        if p.get("state"):
            query["state"] = p["state"]
        return redirect(_with_query(p["redirect_uri"], query))

    # ----- token --------------------------------------------------------------------------
    def _client(self, req: Request, form: dict[str, str]) -> Tenant | None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode()
                client_id, _, secret = raw.partition(":")
                client_id, secret = unquote(client_id), unquote(secret)
            except ValueError:
                return None
        tenant = self.clients.get(client_id)
        if tenant is None or not hmac.compare_digest(secret, tenant.oauth.client_secret):
            return None
        return tenant

    def token(self, req: Request) -> Reply:
        """``POST /oauth/token``: ``authorization_code`` and ``refresh_token`` grants."""
        form = req.form()
        tenant = self._client(req, form)
        if tenant is None:
            reply = _oauth_error("invalid_client", 401)
            reply.headers.append(("www-authenticate", 'Basic realm="sendgrid-simulator"'))
            return reply
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._code_grant(tenant, form)
        if grant_type == "refresh_token":
            return self._refresh_grant(tenant, form)
        return _oauth_error("unsupported_grant_type")

    def _code_grant(self, tenant: Tenant, form: dict[str, str]) -> Reply:
        with self.lock:
            pending = self.codes.get(form.get("code", ""))
            if pending is None or pending.client_id != tenant.oauth.client_id:
                return _oauth_error("invalid_grant")
            if pending.used:
                if pending.grant_id:
                    self._revoke_grant(pending.grant_id)
                return _oauth_error("invalid_grant", description="code already used")
            if pending.expires_at < time.time():
                return _oauth_error("invalid_grant", description="code expired")
            if form.get("redirect_uri") != pending.redirect_uri:
                return _oauth_error("invalid_grant", description="redirect_uri mismatch")
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if not verifier or not hmac.compare_digest(challenge, pending.challenge):
                return _oauth_error("invalid_grant", description="PKCE verification failed")
            pending.used = True
            grant = Grant(secrets.token_hex(8), tenant.tenant_id, tenant.oauth.client_id,
                          pending.grant_scopes)  # fmt: skip
            pending.grant_id = grant.grant_id
            self.grants[grant.grant_id] = grant
            return self._issue(grant)

    def _refresh_grant(self, tenant: Tenant, form: dict[str, str]) -> Reply:
        with self.lock:
            entry = self.refresh.get(form.get("refresh_token", ""))
            if entry is None:
                return _oauth_error("invalid_grant")
            grant = self.grants[entry[0]]
            if grant.client_id != tenant.oauth.client_id:
                return _oauth_error("invalid_grant")
            if grant.revoked:
                return _oauth_error("invalid_grant", description="refresh token revoked")
            if entry[1] != "active":
                self._revoke_grant(grant.grant_id)
                return _oauth_error("invalid_grant", description="refresh token already used")
            if form.get("scope") and not set(form["scope"].split()) <= grant.scopes:
                return _oauth_error("invalid_scope")
            self.refresh[form["refresh_token"]] = (grant.grant_id, "rotated")
            return self._issue(grant)

    def _issue(self, grant: Grant) -> Reply:
        access = "sgsim_at_" + secrets.token_urlsafe(32)
        refresh = "sgsim_rt_" + secrets.token_urlsafe(32)
        ttl = self.access_token_ttl
        self.world.credentials[access] = Credential(
            access, grant.tenant_id, "oauth", set(grant.scopes), f"oauth:{grant.client_id}",
            time.time() + ttl, grant.grant_id)  # fmt: skip
        grant.access_tokens.append(access)
        grant.refresh_tokens.append(refresh)
        self.refresh[refresh] = (grant.grant_id, "active")
        body = {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                "refresh_token": refresh, "scope": " ".join(sorted(grant.scopes))}  # fmt: skip
        return json_reply(body, headers=[("cache-control", "no-store"), ("pragma", "no-cache")])

    def _revoke_grant(self, grant_id: str, access_tokens: bool = True) -> None:
        grant = self.grants[grant_id]
        grant.revoked = True
        if access_tokens:
            for token in grant.access_tokens:
                self.world.credentials.pop(token, None)
        for token in grant.refresh_tokens:
            self.refresh[token] = (grant_id, "revoked")

    # ----- revoke -------------------------------------------------------------------------
    def revoke(self, req: Request) -> Reply:
        """``POST /oauth/revoke`` (RFC 7009): always 200 for an authenticated client."""
        form = req.form()
        tenant = self._client(req, form)
        if tenant is None:
            return _oauth_error("invalid_client", 401)
        token = form.get("token", "")
        with self.lock:
            if token in self.refresh:
                grant = self.grants[self.refresh[token][0]]
                if grant.client_id == tenant.oauth.client_id:
                    self._revoke_grant(grant.grant_id)
            else:
                cred = self.world.credentials.get(token)
                if (
                    cred
                    and cred.kind == "oauth"
                    and cred.bucket == f"oauth:{tenant.oauth.client_id}"
                ):
                    self.world.credentials.pop(token, None)
        return json_reply({})

    def revoke_tenant(self, tenant_id: str, access_tokens: bool = True) -> int:
        """Revoke every refresh token of a tenant (control API); return grants revoked."""
        count = 0
        with self.lock:
            for grant in self.grants.values():
                if grant.tenant_id == tenant_id and not grant.revoked:
                    self._revoke_grant(grant.grant_id, access_tokens)
                    count += 1
        return count


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _oauth_error(err: str, status: int = 400, description: str = "") -> Reply:
    body = {"error": err}
    if description:
        body["error_description"] = description
    return json_reply(body, status, [("cache-control", "no-store"), ("pragma", "no-cache")])


_STYLE = "body{font-family:sans-serif;max-width:28rem;margin:3rem auto}label{display:block}"


def _page(title: str, inner: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>{inner}</body></html>"
    )


def _hidden(p: dict[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                   for k, v in p.items())  # fmt: skip


def _login_page(p: dict[str, str], message: str = "") -> str:
    err = f'<p id="error" role="alert">{html.escape(message)}</p>' if message else ""
    return _page("Sign in to SendGrid (simulator)", (
        f'{err}<form id="login-form" method="post" action="/oauth/authorize">{_hidden(p)}'
        '<input type="hidden" name="action" value="login">'
        '<label for="username">Username</label><input id="username" name="username" '
        'autocomplete="username">'
        '<label for="password">Password</label><input id="password" name="password" '
        'type="password" autocomplete="current-password">'
        '<button id="login" type="submit">Sign in</button></form>'))  # fmt: skip


def _consent_page(tenant: Tenant, ticket: str, granted: list[str]) -> str:
    items = "".join(f"<li>{html.escape(s)}</li>" for s in granted)
    client, name = html.escape(tenant.oauth.client_id), html.escape(tenant.profile.name)
    return _page(
        "Authorize access",
        (
            f'<p>The application <strong id="client">{client}</strong> '
            f'asks for read access to <strong id="tenant">{name}</strong>'
            f':</p><ul id="scopes">{items}</ul>'
            '<form id="consent-form" method="post" action="/oauth/authorize">'
            f'<input type="hidden" name="ticket" value="{ticket}">'
            '<button id="approve" type="submit" name="decision" value="approve">Approve</button> '
            '<button id="deny" type="submit" name="decision" value="deny">Deny</button></form>'
        ),
    )


def _error_page(message: str) -> Reply:
    return html_reply(_page("Authorization error", f'<p id="error">{html.escape(message)}</p>'),
                      400)  # fmt: skip
