"""API key authentication: ``Authorization: Bearer <key>`` (SendGrid's only v3 scheme).

A 401 for a working key happens (intermittently, on SendGrid's side), so one 401 is not taken
for a revoked key: the request is sent once more after :data:`UNAUTHORIZED_PAUSE_SECONDS`, and
only a second 401 in a row for the same request raises :class:`ReconnectRequired`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from requests.auth import AuthBase

from sendgrid_hook.errors import ReconnectRequired
from sendgrid_hook.redaction import register_secret

if TYPE_CHECKING:
    from requests import PreparedRequest, Response

#: Pause before a request answered 401 is sent again, in seconds.
UNAUTHORIZED_PAUSE_SECONDS = 3.0


class ApiKeyAuth(AuthBase):
    """Attach a SendGrid API key as a bearer token.

    Args:
        api_key: The key (registered with the secret masker on construction, and so is its
            secret part, ``SG.<id>.<secret>``: the id alone is not secret, the 43 characters
            after it are, wherever they are echoed).

    Attributes:
        sleep: How the pause after a first 401 is waited (``time.sleep``).
    """

    def __init__(self, api_key: str) -> None:
        register_secret(api_key, "api_key")
        parts = api_key.split(".")
        if len(parts) == 3 and parts[0] == "SG":
            register_secret(parts[2], "api_key_secret")
        self._api_key = api_key
        self.sleep = time.sleep
        self._thread = threading.local()  # per thread: the request last sent, the one answered 401

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        """Set the ``Authorization`` header; watch the answer to a request sent after a 401."""
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        sent = (request.method, request.url, request.headers.get("on-behalf-of"))
        if sent == getattr(self._thread, "refused", None):
            request.register_hook("response", self._second_answer)
        else:
            self._thread.refused = None
        self._thread.sent = sent
        return request

    def __repr__(self) -> str:
        return "ApiKeyAuth(***)"

    def secrets(self) -> tuple[str, ...]:
        """The secrets this auth sends: the key and its secret part."""
        parts = self._api_key.split(".")
        return (self._api_key, parts[2]) if len(parts) == 3 else (self._api_key,)

    def handle_unauthorized(self) -> bool:
        """A first 401 for this request: pause, then let the caller send it once more.

        The transport calls this from the thread that sent the request, right after its 401.

        Returns:
            Always ``True``; the answer to the request sent again decides
            (:meth:`_second_answer`).
        """
        self._thread.refused = getattr(self._thread, "sent", None)
        self.sleep(UNAUTHORIZED_PAUSE_SECONDS)
        return True

    def _second_answer(self, response: Response, **kwargs: Any) -> Response:
        """Answer to the request sent again after a 401: a second 401 means the key is gone.

        Raises:
            ReconnectRequired: The second 401 in a row (the key was revoked, deleted or
                mistyped).
        """
        if response.status_code == 401:
            self._thread.refused = None
            response.close()
            raise ReconnectRequired(
                "SendGrid rejected the API key (401, twice in a row): it was revoked, deleted "
                "or mistyped",
                reason="api_key_rejected",
                status_code=401,
            )
        if response.status_code != 429 and response.status_code < 500:
            # an answer about the request (a 404, a 200): the next 401 is a first one again;
            # a 429 or 5xx says nothing about the key, so its retry's 401 is the second
            self._thread.refused = None
        return response
