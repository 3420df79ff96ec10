"""The OAuth token requests: a session with no redirects, a deadline, a body-size cap.

A token request carries the client secret and a refresh token or an authorization code. With
plain ``requests`` a ``307`` answer makes it POST them again to whatever host ``Location`` names,
and a trickling or endless answer holds the task. :class:`BoundedOAuth2Session` is
requests-oauthlib's ``OAuth2Session`` (which still does the OAuth work) with the same bounds as
API calls (:mod:`sendgrid_hook.bounded_fetch`). :func:`refresh_exchange` is the refresh-token
request of :class:`~sendgrid_hook.auth.oauth2.OAuth2RefreshAuth` and the errors it maps.

oauthlib refuses plain http unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` environment
variable is set; :func:`loopback_transport` sets it only around one token request to a loopback
host (the simulator), under a lock, and restores it afterwards.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3
from oauthlib.oauth2 import InvalidClientError, InvalidGrantError, OAuth2Error
from requests.auth import HTTPBasicAuth
from requests.exceptions import RequestException, Timeout
from requests_oauthlib import OAuth2Session

from sendgrid_hook.bounded_fetch import DeadlineExceeded, describe_origin, read_body
from sendgrid_hook.errors import (
    ReconnectRequired,
    SendGridConfigError,
    SendGridRedirectError,
    SendGridRetriableError,
)
from sendgrid_hook.redaction import register_secret, scrub

if TYPE_CHECKING:
    from requests import Response

    from sendgrid_hook.config import SendGridSettings

#: Token responses are a few hundred bytes.
MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024
INSECURE_TRANSPORT_ENV = "OAUTHLIB_INSECURE_TRANSPORT"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: Held while this module changes ``OAUTHLIB_INSECURE_TRANSPORT``.
ENV_LOCK = threading.Lock()


def is_loopback_http(url: str) -> bool:
    """Check an OAuth endpoint URL: https, or plain http on a loopback host (the simulator).

    Returns:
        Whether it is plain http (on a loopback host).

    Raises:
        SendGridConfigError: ``url`` is neither https nor http on a loopback host.
    """
    parts = urlsplit(url)
    if parts.scheme == "https":
        return False
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return True
    raise SendGridConfigError("the OAuth token URL must use https (http only for localhost)")


@contextmanager
def loopback_transport(url: str) -> Iterator[None]:
    """Let oauthlib send requests to ``url`` over plain http for the block, if it is loopback.

    Raises:
        SendGridConfigError: ``url`` is neither https nor http on a loopback host.
    """
    if not is_loopback_http(url):
        yield
        return
    with ENV_LOCK:
        before = os.environ.get(INSECURE_TRANSPORT_ENV)
        os.environ[INSECURE_TRANSPORT_ENV] = "1"
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(INSECURE_TRANSPORT_ENV, None)
            else:
                os.environ[INSECURE_TRANSPORT_ENV] = before


class BoundedOAuth2Session(OAuth2Session):
    """``OAuth2Session`` whose requests never follow a redirect and end by a deadline.

    Args:
        *args: Passed to ``OAuth2Session``.
        deadline_seconds: Longest time one whole request may take.
        **kwargs: Passed to ``OAuth2Session``.
    """

    def __init__(self, *args: Any, deadline_seconds: float = 120.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline_seconds = deadline_seconds

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send like ``OAuth2Session.request``, without redirects, within the deadline.

        Raises:
            SendGridRedirectError: The server answered with a redirect (not followed).
            requests.Timeout: No complete answer before the deadline.
        """
        deadline = time.monotonic() + self.deadline_seconds
        kwargs.update(allow_redirects=False, stream=True)
        response = super().request(method, url, *args, **kwargs)
        try:
            if response.is_redirect:
                target = response.headers.get("location", "")
                raise SendGridRedirectError(
                    f"the OAuth token endpoint {describe_origin(url)} answered "
                    f"{response.status_code} redirecting to {describe_origin(target)}; not "
                    "followed (the refresh token and client secret were not sent there)",
                    status_code=response.status_code,
                )
            try:
                body = read_body(response, url, deadline, MAX_TOKEN_RESPONSE_BYTES)
            except (DeadlineExceeded, urllib3.exceptions.TimeoutError):
                raise Timeout(
                    f"no complete answer from {describe_origin(url)} within "
                    f"{self.deadline_seconds:g} s"
                ) from None
        finally:
            response.close()
        response._content = body  # the body read within bounds, for requests-oauthlib
        return response


def refresh_exchange(settings: SendGridSettings, refresh_token: str) -> dict[str, Any]:
    """Exchange ``refresh_token`` for new tokens at the connection's token URL (one request).

    Returns:
        The token response (``access_token``, usually a rotated ``refresh_token``, expiry);
        both tokens are registered with the scrubber before it is returned.

    Raises:
        ReconnectRequired: The server refused the refresh token (``invalid_grant``) or the
            client (``invalid_client``).
        SendGridRetriableError: The request failed otherwise, or the answer has no access token.
    """
    s = settings
    # No scope: a refresh keeps the grant's own (RFC 6749 section 6). Asking for
    # ``oauth_scopes`` makes oauthlib raise a bare ``Warning`` when the answer names
    # another set, after the server rotated the refresh token and before it is stored.
    session = BoundedOAuth2Session(client_id=s.client_id, deadline_seconds=s.request_timeout)
    try:
        with loopback_transport(s.token_url or ""):
            token = session.refresh_token(
                s.token_url,
                refresh_token=refresh_token,
                auth=HTTPBasicAuth(s.client_id or "", s.client_secret or ""),
                timeout=(s.connect_timeout, s.read_timeout),
            )
    except InvalidGrantError as exc:
        raise ReconnectRequired(
            f"the OAuth refresh token of {s.conn_id!r} was refused (invalid_grant: revoked, "
            "expired or consent withdrawn)",
            reason="refresh_token_invalid",
            status_code=getattr(exc, "status_code", 400),
        ) from None
    except InvalidClientError:
        raise ReconnectRequired(
            f"the OAuth client of {s.conn_id!r} was refused (invalid_client)",
            reason="client_rejected",
            status_code=401,
        ) from None
    except (OAuth2Error, RequestException, ValueError) as exc:
        raise SendGridRetriableError(
            f"OAuth token refresh of {s.conn_id!r} failed: {scrub(type(exc).__name__)}: "
            f"{scrub(getattr(exc, 'description', '') or '')}"
        ) from None
    finally:
        session.close()
    register_secret(token.get("access_token"), "access_token")
    register_secret(token.get("refresh_token"), "refresh_token")
    if not token.get("access_token"):
        raise SendGridRetriableError("OAuth token response has no access_token")
    return dict(token)
