"""Typed exceptions raised by the SendGrid hook.

Callers branch on the class, never on message text: retriable errors may be retried by the
task (Airflow retries), fatal errors will not improve by retrying, and
:class:`ReconnectRequired` means an admin has to act. Messages never contain secrets.
"""

from __future__ import annotations


class SendGridError(Exception):
    """Base class of every error raised by the SendGrid hook."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class SendGridRetriableError(SendGridError):
    """429, 5xx, timeout, connection error or truncated/invalid JSON, after retries ran out."""


class SendGridFatalError(SendGridError):
    """A 4xx (other than 401) or a malformed response: retrying will not help."""


class SendGridForbiddenError(SendGridFatalError):
    """403: the credential lacks the scope, or the account does not license the feature."""


class SendGridNotFoundError(SendGridFatalError):
    """404: the resource does not exist (for example an unknown subuser)."""


def is_gone(exc: SendGridError) -> bool:
    """Whether ``exc`` says the addressed resource no longer exists.

    A 404, or the 400 ``No user found`` that SendGrid answers for an unknown subuser on
    ``/v3/subusers/{subuser_name}/...`` (its OpenAPI example).
    """
    if isinstance(exc, SendGridNotFoundError):
        return True
    return exc.status_code == 400 and "no user found" in str(exc).lower()


def is_temporary_block(exc: SendGridError) -> bool:
    """Whether ``exc`` is SendGrid's 403 ``Too many bad requests. Temporary block``.

    A pause the API imposes, not an answer about scopes or the plan: the read failed.
    """
    return exc.status_code == 403 and "temporary block" in str(exc).lower()


def is_data_residency(exc: SendGridError) -> bool:
    """Whether ``exc`` is SendGrid's 451 ``Unavailable due to data residency restrictions``.

    The data lives in another region (an EU subuser read through the global host).
    """
    return exc.status_code == 451


class SendGridPaginationError(SendGridFatalError):
    """The API kept returning the same page, an offset that does not move, or too many pages."""


class SendGridRedirectError(SendGridFatalError):
    """The server redirected to another origin; the hook never follows (nor sends credentials)."""


class SendGridResponseTooLargeError(SendGridFatalError):
    """A response body is larger than the connection's ``max_response_bytes`` cap."""


class SendGridBudgetExceededError(SendGridError):
    """The hook reached the per-connection request budget configured on the connection."""


class SendGridTimeBudgetExceededError(SendGridError):
    """The tenant's time budget is used up: no further request or wait fits before its end."""


class SendGridConfigError(SendGridError):
    """The Airflow connection is incomplete or inconsistent.

    Args:
        fields: Problem per field name (``{"read_timeout": "must be a number ..."}``); never
            holds a secret value.
    """

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class ReconnectRequired(SendGridError):
    """The credential no longer works: an admin must reconnect the tenant.

    Raised for a 401 (API key revoked or deleted, OAuth access revoked) and for OAuth
    ``invalid_grant`` (refresh token revoked, expired or consent withdrawn).

    Args:
        reason: Short machine-readable reason, e.g. ``api_key_rejected``, ``refresh_token_invalid``,
            ``access_revoked``.
    """

    def __init__(self, message: str, *, reason: str, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.reason = reason
