"""The records of one page body: where a response's list sits (``records_path``).

The real API wraps lists inconsistently (a bare array, ``result`` or ``results``), and some
one-record endpoints answer with the object their spec wraps in a list.
"""

from __future__ import annotations

from typing import Any

from sendgrid_hook.errors import SendGridFatalError

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

    Raises:
        SendGridFatalError: The body does not have the expected shape (status 200).
    """
    if isinstance(body, dict) and body.keys() == {"errors"}:
        raise SendGridFatalError(
            f"malformed response: status 200 with only errors: {_messages(body['errors'])}",
            status_code=200,
        )
    if records_path == ".":
        if body is None:
            return []
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
        if isinstance(body, dict):
            body = next((body[k] for k in ("result", "results") if k in body), body)
        return _as_record_list(body, "the body")
    node = body
    for part in records_path.split("."):
        if not isinstance(node, dict):
            raise SendGridFatalError(f"malformed response: no {records_path!r}", status_code=200)
        aliases = [part, *{"result": ["results"], "results": ["result"]}.get(part, [])]
        key = next((k for k in aliases if k in node), None)
        if key is None:
            raise SendGridFatalError(f"malformed response: no {records_path!r}", status_code=200)
        node = node[key]
    return _as_record_list(node, repr(records_path))


def _as_record_list(node: Any, what: str) -> list[dict[str, Any]]:
    if node is None:
        return []
    if not isinstance(node, list):
        raise SendGridFatalError(f"malformed response: {what} is not a list", status_code=200)
    return node


def _messages(errors: Any) -> str:
    """The ``message`` texts of an ``errors`` list (at most three, 200 characters)."""
    items = errors if isinstance(errors, list) else [errors]
    texts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in items[:3]]
    return "; ".join(texts)[:200] or "none given"
