"""Error bodies as the real API sends them (docs/api-notes.md §5 and §6)."""

from __future__ import annotations

from .wire import Reply, dumps

AUTH_REQUIRED = dumps({"errors": [{"field": None, "message": "authorization required"}]})
GRANT_INVALID = dumps(
    {
        "errors": [
            {
                "message": "The provided authorization grant is invalid, expired, or revoked",
                "field": None,
                "help": None,
            }
        ]
    }
)
FORBIDDEN = dumps({"errors": [{"field": None, "message": "access forbidden"}]})
NOT_FOUND = dumps({"errors": [{"field": None, "message": "not found"}]})
TOO_MANY = dumps({"errors": [{"field": None, "message": "too many requests"}]})
INTERNAL = dumps({"errors": [{"field": None, "message": "internal server error"}]})
UNAVAILABLE = dumps({"errors": [{"field": None, "message": "service unavailable"}]})
BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
NOT_ACCEPTABLE = dumps(
    {
        "errors": [
            {
                "field": None,
                "message": "Missing Accept header. For example: Accept: application/json",
            }
        ]
    }
)


def bad_request(field: str | None, message: str) -> Reply:
    """A 400 reply with one ``{"field", "message"}`` error."""
    return Reply(400, dumps({"errors": [{"field": field, "message": message}]}))


def no_user_found() -> Reply:
    """SendGrid's answer about a subuser it does not know: 400 ``No user found``.

    The OpenAPI example of ``/v3/subusers/{subuser_name}/credits``; the subuser endpoints that
    take names answer it (``/v3/subusers/stats`` for a name in ``subusers`` too).
    """
    return bad_request(None, "No user found")


def error(status: int, body: bytes) -> Reply:
    """A reply with a pre-encoded error body."""
    return Reply(status, body)


class ParamError(Exception):
    """Raised by parameter parsers; becomes a 400 reply."""

    def __init__(self, field: str, message: str) -> None:
        """Record the offending ``field`` and the ``message``."""
        super().__init__(message)
        self.field = field
        self.message = message
