"""The OAuth token requests' session: no redirects, a deadline, a body-size cap.

A token request carries the client secret and a refresh token or an authorization code. With
plain ``requests`` a ``307`` answer makes it POST them again to whatever host ``Location`` names,
and a trickling or endless answer holds the task. :class:`BoundedOAuth2Session` is
requests-oauthlib's ``OAuth2Session`` (which still does the OAuth work) with the same bounds as
API calls (:mod:`sendgrid_hook.bounded_fetch`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import urllib3
from requests.exceptions import Timeout
from requests_oauthlib import OAuth2Session

from sendgrid_hook.bounded_fetch import DeadlineExceeded, describe_origin, read_body
from sendgrid_hook.errors import SendGridRedirectError

if TYPE_CHECKING:
    from requests import Response

#: Token responses are a few hundred bytes.
MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024


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
