"""Keep the OAuth callback's ``code`` and ``state`` out of the API server's access log.

The authorization server redirects the browser to ``/oauth/callback?code=...&state=...``; the
query string is fixed by the OAuth protocol. Airflow's ``HttpAccessLogMiddleware`` (outermost in
the API server) writes one line per request once the response is complete, from the ASGI
scope's ``path`` and ``query_string``: it hides query values only for parameter *names* its
secrets masker deems sensitive (``code`` and ``state`` are not) and values registered with
*that* masker (``airflow._shared.secrets_masker``, not ``airflow.sdk.log.mask_secret``'s).

Registering each code with that masker would grow its pattern list with every callback (for
the life of the process) and let anyone add strings of their choice to it (the callback needs
no sign-in), while a code arriving with an invalid ``state`` would still be logged. Instead,
this middleware replaces the values of :data:`SECRET_QUERY_PARAMS` in the scope's
``query_string`` once this app has answered: the route read the real values, the access log
line written after it sees ``***``. The scope is the one dict every layer of the request
shares (Starlette's routing updates it in place), so the line is scrubbed whatever the
request's outcome (refused, failed, or raising).

Invite links carry no token in their URL at all (see :mod:`sendgrid_connect.invites`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

#: Query parameters of this app whose values are credentials or bound to one.
SECRET_QUERY_PARAMS = frozenset({"code", "state"})
MASK = b"***"


def scrub_query(query: bytes) -> bytes:
    """``query`` with the value of every :data:`SECRET_QUERY_PARAMS` parameter replaced.

    Names are compared as the route decodes them (percent and ``+`` decoding, so
    ``cod%65=...`` is hidden too) and regardless of case; other pairs stay byte for byte.
    """
    if not query:
        return query
    pairs = []
    for pair in query.split(b"&"):
        name = pair.split(b"=", 1)[0]
        decoded = unquote_plus(name.decode("latin-1")).strip().lower()
        pairs.append(name + b"=" + MASK if decoded in SECRET_QUERY_PARAMS else pair)
    return b"&".join(pairs)


class ScrubSecretQueryMiddleware:
    """ASGI middleware: once the app answered, the scope's query string has no secret left."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            query = scope.get("query_string") or b""
            scrubbed = scrub_query(query)
            if scrubbed != query:
                scope["query_string"] = scrubbed
