"""API key authentication: ``Authorization: Bearer <key>`` (SendGrid's only v3 scheme)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from requests.auth import AuthBase

from sendgrid_hook.errors import ReconnectRequired
from sendgrid_hook.redaction import register_secret

if TYPE_CHECKING:
    from requests import PreparedRequest


class ApiKeyAuth(AuthBase):
    """Attach a SendGrid API key as a bearer token.

    Args:
        api_key: The key (registered with the secret masker on construction, and so is its
            secret part, ``SG.<id>.<secret>``: the id alone is not secret, the 43 characters
            after it are, wherever they are echoed).
    """

    def __init__(self, api_key: str) -> None:
        register_secret(api_key, "api_key")
        parts = api_key.split(".")
        if len(parts) == 3 and parts[0] == "SG":
            register_secret(parts[2], "api_key_secret")
        self._api_key = api_key

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        """Set the ``Authorization`` header."""
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request

    def __repr__(self) -> str:
        return "ApiKeyAuth(***)"

    def secrets(self) -> tuple[str, ...]:
        """The secrets this auth sends: the key and its secret part."""
        parts = self._api_key.split(".")
        return (self._api_key, parts[2]) if len(parts) == 3 else (self._api_key,)

    def handle_unauthorized(self) -> bool:
        """A 401 for an API key cannot be fixed by the client.

        Raises:
            ReconnectRequired: Always (the key was revoked, deleted or mistyped).
        """
        raise ReconnectRequired(
            "SendGrid rejected the API key (401): it was revoked, deleted or mistyped",
            reason="api_key_rejected",
            status_code=401,
        )
