"""Authorization-code flow with PKCE S256 (requests-oauthlib), for one tenant connection.

* :func:`start` issues a single-use nonce, signs ``state = {nonce, conn_id}``, derives the PKCE
  verifier from the nonce (never stored, never sent to the browser) and returns the provider's
  authorization URL built by :class:`requests_oauthlib.OAuth2Session`.
* :func:`finish` validates the callback: signature and age of ``state``, the nonce row (purpose,
  connection, browser binding, initiating Airflow user), then consumes the nonce atomically and
  only then exchanges the code (``OAuth2Session.fetch_token`` with the verifier). A replayed
  state or code therefore fails before or at the token endpoint and changes nothing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests.auth import HTTPBasicAuth
from requests.exceptions import RequestException
from requests_oauthlib import OAuth2Session
from sendgrid_hook.auth.oauth2 import guard_credentials
from sendgrid_hook.auth.token_session import BoundedOAuth2Session, loopback_transport
from sendgrid_hook.errors import SendGridRedirectError
from sendgrid_hook.redaction import scrub

from sendgrid_connect import nonces, signing, tenants


class FlowError(Exception):
    """The callback cannot complete; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FlowResult:
    """A completed authorization."""

    conn_id: str
    invite: bool
    next_path: str | None


def start(
    conn_id: str,
    actor: str,
    redirect_uri: str,
    bind_value: str,
    next_path: str | None = None,
) -> str:
    """Begin a flow; return the provider's authorization URL.

    Args:
        conn_id: The tenant's ``sendgrid`` connection.
        actor: ``user:<airflow user id>`` or ``invite:<invite nonce>``.
        redirect_uri: This app's callback URL, as registered with the provider.
        bind_value: Random value also set as an HttpOnly cookie in the browser.
        next_path: Where to send the browser after the callback (inside this app).

    Raises:
        tenants.TenantError: The connection has no usable OAuth client.
    """
    settings = tenants.oauth_settings(conn_id)
    endpoint = tenants.authorize_url(conn_id)
    tenants.check_transport(endpoint)
    tenants.check_transport(settings.token_url or "")
    nonce = nonces.issue(
        "oauth",
        conn_id,
        actor,
        signing.STATE_TTL,
        bind_hash=signing.digest(bind_value),
        next_path=next_path,
    )
    state = signing.sign({"n": nonce, "c": conn_id}, signing.SALT_STATE)
    verifier = signing.pkce_verifier(nonce)
    challenge = WebApplicationClient(settings.client_id).create_code_challenge(verifier, "S256")
    session = OAuth2Session(
        client_id=settings.client_id,
        redirect_uri=redirect_uri,
        scope=list(settings.oauth_scopes) or None,
    )
    with loopback_transport(endpoint):  # oauthlib's https check, lifted for the simulator only
        url, _ = session.authorization_url(
            endpoint, state=state, code_challenge=challenge, code_challenge_method="S256"
        )
    return url


def finish(
    state: str | None,
    code: str | None,
    error: str | None,
    redirect_uri: str,
    bind_value: str | None,
    user_id: str | None,
) -> FlowResult:
    """Validate the callback and store the tokens.

    Args:
        state: The signed ``state`` the provider hands back.
        code: The authorization code (absent when the provider reports an error).
        error: The provider's error code, if any.
        redirect_uri: The callback URL used in :func:`start`.
        bind_value: The browser's bind cookie (must match the state's).
        user_id: The Airflow user of this request (None if not signed in).

    Raises:
        FlowError: Anything invalid; nothing is stored then.
    """
    try:
        data = signing.unsign(state, signing.SALT_STATE, signing.STATE_TTL)
        nonce, conn_id = str(data["n"]), str(data["c"])
    except (signing.InvalidSignedValue, KeyError, TypeError):
        raise FlowError("Invalid or expired authorization state. Start again.") from None
    row = nonces.get(nonce, "oauth")
    if row is None or row.conn_id != conn_id:
        raise FlowError("Unknown authorization state. Start again.")
    if not nonces.usable(row):
        raise FlowError("This authorization was already completed or has expired.")
    if (
        not bind_value
        or not row.bind_hash
        or not hmac.compare_digest(row.bind_hash, signing.digest(bind_value))
    ):
        raise FlowError("This authorization was started in another browser.", 403)
    if not row.invite_flow and user_id is None:
        raise FlowError(
            "Your Airflow sign-in ended during the authorization. Sign in (it opens in a new "
            "tab), then reload this page to finish connecting.",
            401,
        )
    if not row.invite_flow and row.actor != f"user:{user_id}":
        raise FlowError("This authorization was started by another Airflow user.", 403)
    if not nonces.consume(nonce, "oauth"):
        raise FlowError("This authorization was already completed or has expired.")
    if error:  # the server's word, shown and logged: printable characters only
        raise FlowError(f"SendGrid did not authorize the connection ({_shown(error)}).")
    if not code or len(code) > 2048:
        raise FlowError("The authorization response has no code.")
    token = _exchange(conn_id, code, signing.pkce_verifier(nonce), redirect_uri)
    tenants.save_oauth_tokens(conn_id, token)
    return FlowResult(conn_id, row.invite_flow, row.next_path)


def _shown(error: object) -> str:
    """A server's error text as shown and logged: scrubbed, printable, at most 60 characters."""
    return "".join(c for c in scrub(error)[:60] if c.isprintable())


def _exchange(conn_id: str, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
    settings = tenants.oauth_settings(conn_id)
    guard_credentials(settings, code)  # requests-oauthlib logs headers and tokens at DEBUG
    session = BoundedOAuth2Session(
        client_id=settings.client_id,
        redirect_uri=redirect_uri,
        deadline_seconds=settings.request_timeout,
    )
    try:
        with loopback_transport(settings.token_url or ""):
            token = session.fetch_token(
                settings.token_url,
                code=code,
                code_verifier=verifier,
                auth=HTTPBasicAuth(settings.client_id or "", settings.client_secret or ""),
                include_client_id=False,
                timeout=(settings.connect_timeout, 30),
            )
    except OAuth2Error as exc:
        raise FlowError(  # its ``error`` is the server's text (may echo the code or secret)
            f"SendGrid refused the authorization code ({_shown(exc.error)}). Start again."
        ) from None
    except SendGridRedirectError:
        raise FlowError(
            "The SendGrid token endpoint redirected elsewhere; the code was not sent there.", 502
        ) from None
    except (RequestException, ValueError) as exc:
        raise FlowError(
            f"Could not reach the SendGrid token endpoint ({type(exc).__name__}).", 502
        ) from None
    finally:
        session.close()
    guard_credentials(settings, token.get("access_token"), token.get("refresh_token"))
    return dict(token)
