"""The records of one page body: where a response's list sits (``records_path``).

The real API wraps lists inconsistently (a bare array, ``result`` or ``results``), and some
one-record endpoints answer with the object their spec wraps in a list.

No page is read as empty unless it says so (``[]``): a ``null`` list or a ``204 No Content``
is refused like the transport refuses an empty body or a top-level ``null``. Read as no
records, a snapshot would look complete and every current row would be marked deleted (for
``/v3/subusers``, every per-subuser stream's rows too). SendGrid documents neither for "no
items": no GET of its OpenAPI specs types a ``result``/``results`` list as nullable, and the
only GET answering 204 is ``/v3/verified_senders/verify/{token}``, which lists nothing.
"""

from __future__ import annotations

from typing import Any

from sendgrid_hook.display import shorten
from sendgrid_hook.errors import SendGridFatalError

_NOT_EMPTY = (
    "not read as an empty list (a snapshot would look complete and every current row would "
    "be marked deleted)"
)
#: ``records_path`` of a one-record endpoint whose spec wraps the record in a ``result`` array
#: but which may answer with the flat object (``GET /v3/api_keys/{api_key_id}``).
RESULT_OR_BODY = "result|."


def extract_records(body: Any, records_path: str | None) -> list[dict[str, Any]]:
    """Return the records of one page.

    Args:
        body: The page's parsed JSON body.
        records_path: ``None`` (bare array), ``"."`` (the body is one record),
            :data:`RESULT_OR_BODY`, or a key / dotted path; ``result`` and ``results`` are
            accepted for each other because the real API is inconsistent. ``None`` also accepts
            an object holding ``result``/``results``.

    A 200 whose body is only ``{"errors": [...]}`` is no record: it is refused with its
    messages, so an error the API answers with status 200 never replaces a real record.
    Neither a body of ``None`` (the transport's ``204 No Content``) nor a ``null`` list is
    read as no records (see the module docstring).

    Raises:
        SendGridFatalError: The body does not have the expected shape (status 200), or
            there is none (status 204).
    """
    if body is None:
        raise SendGridFatalError(
            f"malformed response: 204 No Content where records were expected; {_NOT_EMPTY}",
            status_code=204,
        )
    if isinstance(body, dict) and body.keys() == {"errors"}:
        raise SendGridFatalError(
            f"malformed response: status 200 with only errors: {_messages(body['errors'])}",
            status_code=200,
        )
    if records_path == ".":
        if not isinstance(body, dict):
            raise SendGridFatalError(
                "malformed response: the body is not an object", status_code=200
            )
        return [body]
    if records_path == RESULT_OR_BODY:
        if isinstance(body, dict) and not {"result", "results"} & body.keys():
            return [body]  # the flat object the spec's array may really be
        records_path = "result"
    if records_path is None:
        wrapped = isinstance(body, dict)
        key = next((k for k in ("result", "results") if k in body), None) if wrapped else None
        if key is not None:
            return _as_record_list(body[key], repr(key))
        return _as_record_list(body, "the body")
    node, found = body, []  # the keys the body really has (``results`` for ``result``)
    for part in records_path.split("."):
        if not isinstance(node, dict):
            raise SendGridFatalError(f"malformed response: no {records_path!r}", status_code=200)
        aliases = [part, *{"result": ["results"], "results": ["result"]}.get(part, [])]
        key = next((k for k in aliases if k in node), None)
        if key is None:
            raise SendGridFatalError(f"malformed response: no {records_path!r}", status_code=200)
        node = node[key]
        found.append(key)
    return _as_record_list(node, repr(".".join(found)))


def _as_record_list(node: Any, what: str) -> list[dict[str, Any]]:
    if node is None:
        raise SendGridFatalError(
            f"malformed response: {what} is null, not a list; {_NOT_EMPTY}", status_code=200
        )
    if not isinstance(node, list):
        raise SendGridFatalError(f"malformed response: {what} is not a list", status_code=200)
    return node


def _messages(errors: Any) -> str:
    """The ``message`` texts of an ``errors`` list (at most three, 200 characters)."""
    items = errors if isinstance(errors, list) else [errors]
    texts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in items[:3]]
    return shorten("; ".join(texts), 200) or "none given"
