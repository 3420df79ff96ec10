"""Paginator edge cases against a deliberately misbehaving HTTP server (real sockets).

The simulator behaves; this server does not: repeated tokens, offsets that stop moving,
endless cursors, foreign hosts, bodies of the wrong shape. Every case must end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sendgrid_hook.errors import (
    SendGridFatalError,
    SendGridPaginationError,
    SendGridRetriableError,
)
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_hook.transport import Transport

from .fake_api import JsonHandler, serving_hook

ROWS = [{"id": i} for i in range(7)]


class Handler(JsonHandler):
    """Routes by path; query parameters drive the page."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        base = f"http://{self.headers['Host']}"
        headers: dict[str, str] = {}
        route = parts.path
        limit = int(q["limit"]) if q.get("limit", "").isdigit() else 3
        offset = int(q.get("offset", 0))
        if route == "/v3/offset_plain":
            body: Any = ROWS[offset : offset + limit]
        elif route == "/v3/offset_exact":
            body = (ROWS[:6])[offset : offset + limit]
        elif route == "/v3/offset_empty":
            body = {"result": []}
        elif route == "/v3/offset_stuck":
            body = ROWS[:limit]
            headers["Link"] = f'<{base}{route}?limit={limit}&offset=0>; rel="next"'
        elif route == "/v3/offset_link_self":  # the last page's Link next points at itself
            body = ROWS[:6][offset : offset + limit]
            nxt = offset + limit if offset + limit < 6 else offset
            headers["Link"] = f'<{base}{route}?limit={limit}&offset={nxt}>; rel="next"'
        elif route == "/v3/offset_capped":  # serves 2 rows a page, links as if it served limit
            body = ROWS[offset : offset + 2]
            if offset + len(body) < len(ROWS):
                headers["Link"] = (
                    f'<{base}{route}?limit={limit}&offset={offset + limit}>; rel="next"'
                )
        elif route == "/v3/offset_link_bad_limit":  # a Link next whose limit is no number
            body = ROWS[offset : offset + limit]
            headers["Link"] = f'<{base}{route}?limit=abc&offset={offset + limit}>; rel="next"'
        elif route == "/v3/wrapped_stats":  # one wrapper record per page, no Link header
            body = {"date": "2026-11-01", "stats": ROWS[offset : offset + limit]}
        elif route == "/v3/offset_ignored":
            body = ROWS[:limit]
        elif route == "/v3/token_repeat":
            body = {"result": [{"id": q.get("page_token", "first")}]}
            body["_metadata"] = {"next": f"{base}{route}?page_token=same"}
        elif route == "/v3/token_endless":
            n = int(q.get("page_token", 0))
            body = {
                "results": [{"id": n}],
                "_metadata": {"next": f"{base}{route}?page_token={n + 1}"},
            }
        elif route == "/v3/token_foreign":
            body = {"result": [{"id": 1}], "_metadata": {"next": "http://evil.example/v3/x?t=1"}}
        elif route == "/v3/keyset_repeat":
            body = {"result": [{"id": 1}], "_metadata": {"next_params": {"after_key": "k1"}}}
        elif route == "/v3/keyset_params_text":  # next_params as a query string, not an object
            body = {"result": [{"id": 1}], "_metadata": {"next_params": "after_key=5"}}
        elif route == "/v3/after_sub":
            after = int(q.get("after_subuser_id", 0))
            nxt = after + 1 if after < 2 else None
            body = {
                "result": [{"id": after}],
                "_metadata": {"next_params": {"after_subuser_id": nxt}},
            }
        elif route == "/v3/keyset_flat":  # after_key straight in _metadata (the spec's example)
            after = int(q.get("after_key", -1))
            chunk = [r for r in ROWS if r["id"] > after][:limit]
            more = chunk and chunk[-1]["id"] < ROWS[-1]["id"]
            body = {"result": chunk, "_metadata": {"after_key": chunk[-1]["id"] if more else None,
                                                   "before_key": None}}  # fmt: skip
        elif route in ("/v3/next_drops_filters", "/v3/link_drops_filters"):
            if q.get("generations") != "legacy,dynamic" or (
                "page_size" not in q and "limit" not in q
            ):
                self.send(400, b'{"errors":[{"field":"generations","message":"lost"}]}', {})
                return
            start = int(q.get("page_token", q.get("offset", 0)))
            body = {"result": ROWS[start : start + limit]}
            if start + limit < len(ROWS) and route == "/v3/next_drops_filters":
                body["_metadata"] = {"next": f"{base}{route}?page_token={start + limit}"}
            elif start + limit < len(ROWS):
                headers["Link"] = f'<{base}{route}?offset={start + limit}>; rel="next"'
        elif route == "/v3/html":
            self.send(200, b"<html>maintenance</html>", {})
            return
        elif route == "/v3/malformed":
            body = {"unexpected": 1}
        elif route == "/v3/empty_200":  # a list answered with nothing at all
            self.send(200, b"", {})
            return
        elif route == "/v3/null_200":
            body = None
        elif route == "/v3/bom":  # a UTF-8 byte order mark before the JSON
            self.send(200, b"\xef\xbb\xbf" + json.dumps({"result": ROWS[:2]}).encode(), {})
            return
        elif route == "/v3/null_result":
            body = {"result": None}
        elif route == "/v3/null_results":
            body = {"results": None, "_metadata": {}}
        elif route == "/v3/no_content":  # 204 where a list was asked for
            self.send(204, b"", {})
            return
        elif route == "/v3/errors_200":  # an error answered with status 200
            body = {"errors": [{"field": None, "message": "internal hiccup"}]}
        elif route == "/v3/list_for_object":
            body = [{"id": 1}]
        else:
            self.send(404, b'{"errors":[{"message":"not found"}]}', {})
            return
        self.send(200, json.dumps(body).encode(), headers)


@pytest.fixture
def hook(set_conn: Any) -> Iterator[SendGridHook]:
    with serving_hook(Handler, set_conn, "sg_rogue", max_pages=20, backoff_base=0.001) as served:
        yield served


def _ids(hook: SendGridHook, path: str, pagination: str, records_path: str | None = None) -> list:
    return [r["id"] for r in hook.iter_records(path, pagination=pagination,
                                              records_path=records_path, page_size=3)]  # fmt: skip


def test_offset_many_pages_last_page_short(hook: SendGridHook) -> None:
    assert _ids(hook, "/v3/offset_plain", "offset") == list(range(7))
    assert hook.last_progress.pages == 4  # each next page repeats one row: offsets 0, 2, 4, 6


def test_offset_last_page_full_then_empty(hook: SendGridHook) -> None:
    assert _ids(hook, "/v3/offset_exact", "offset") == list(range(6))
    assert hook.last_progress.pages == 3  # 3 + 3 + empty page


def test_offset_last_page_linking_to_itself_ends_the_list(hook: SendGridHook) -> None:
    """A ``next`` link that does not move is not followed: the page's size decides."""
    assert _ids(hook, "/v3/offset_link_self", "offset") == list(range(6))
    assert hook.last_progress.pages == 3  # 3 + 3 (link to itself) + empty page


def test_a_next_link_past_the_rows_served_reads_on_from_them(hook: SendGridHook) -> None:
    """A server that caps its pages below ``limit`` but links ``offset + limit`` would have
    every page skip rows: the next offset is never past the rows the page held."""
    assert _ids(hook, "/v3/offset_capped", "offset") == list(range(7))


def test_a_wrapper_record_pages_through_its_list(hook: SendGridHook) -> None:
    """``/v3/subusers/stats/monthly`` answers one ``{"date", "stats": [...]}`` per page: the
    paginator counts the ``stats`` entries, so a full list asks for the next offset."""
    pages = list(
        hook.iter_record_pages(
            "/v3/wrapped_stats",
            pagination="offset",
            records_path=".",
            page_size=3,
            page_items="stats",
        )
    )
    stats = [s["id"] for records in pages for r in records for s in r["stats"]]
    assert stats == list(range(7))
    assert hook.last_progress.pages == 3


def test_offset_empty_single_page(hook: SendGridHook) -> None:
    assert _ids(hook, "/v3/offset_empty", "offset", "result") == []
    assert hook.last_progress.pages == 1


@pytest.mark.parametrize(
    ("path", "pagination", "records_path", "error", "match"),
    [
        ("/v3/offset_stuck", "offset", None, SendGridPaginationError, "same page"),
        ("/v3/offset_ignored", "offset", None, SendGridPaginationError, "same page"),
        ("/v3/token_repeat", "metadata_next", "result", SendGridPaginationError, "loop"),
        ("/v3/token_foreign", "metadata_next", "result", SendGridFatalError, "another host"),
        ("/v3/keyset_repeat", "keyset", "result", SendGridPaginationError, "loop"),
    ],
    ids=[
        "offset-link-does-not-move",
        "server-ignores-offset",
        "repeated-page-token",
        "next-url-on-another-host",
        "repeated-keyset-cursor",
    ],
)
def test_misbehaving_pagination_ends_in_an_error(
    hook: SendGridHook,
    path: str,
    pagination: str,
    records_path: str | None,
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        _ids(hook, path, pagination, records_path)


def test_endless_cursor_hits_max_pages(hook: SendGridHook) -> None:
    with pytest.raises(SendGridPaginationError, match="exceeded 20 pages"):
        _ids(hook, "/v3/token_endless", "metadata_next", "results")
    assert hook.request_count == 20


def test_keyset_cursor_straight_in_metadata(hook: SendGridHook) -> None:
    assert _ids(hook, "/v3/keyset_flat", "keyset", "result") == list(range(7))
    assert hook.last_progress.pages == 3


@pytest.mark.parametrize(
    ("path", "pagination"),
    [("/v3/next_drops_filters", "metadata_next"), ("/v3/link_drops_filters", "offset")],
)
def test_next_urls_that_drop_the_filters_get_them_back(
    hook: SendGridHook, path: str, pagination: str
) -> None:
    """A ``_metadata.next`` or ``Link`` URL carrying only its page token or offset still reads
    the same filtered list, with the same page size."""
    records = hook.iter_records(path, pagination=pagination, records_path="result",
                                page_size=3, params={"generations": "legacy,dynamic"})  # fmt: skip
    assert [r["id"] for r in records] == list(range(7))
    assert hook.last_progress.pages == (4 if pagination == "offset" else 3)  # offset: overlap


def test_after_subuser_id_cursor(hook: SendGridHook) -> None:
    assert _ids(hook, "/v3/after_sub", "after_subuser_id", "result") == [0, 1, 2]


def test_invalid_json_is_retried_then_retriable(hook: SendGridHook) -> None:
    with pytest.raises(SendGridRetriableError, match="invalid JSON"):
        hook.get_json("/v3/html")
    assert hook.request_count == 6  # 1 + max_retries (5)


def test_malformed_body_is_fatal(hook: SendGridHook) -> None:
    with pytest.raises(SendGridFatalError, match="malformed"):
        _ids(hook, "/v3/malformed", "none", "result")


@pytest.mark.parametrize("path", ["/v3/empty_200", "/v3/null_200"])
def test_a_200_without_a_body_is_retried_not_read_as_an_empty_list(
    hook: SendGridHook, path: str
) -> None:
    """Read as ``[]``, a snapshot would look complete and mark every current row deleted."""
    with pytest.raises(
        SendGridRetriableError, match=r"status 200 with (an empty body|a JSON null)"
    ):
        _ids(hook, path, "offset")
    assert hook.request_count == 6  # retried like a truncated body


@pytest.mark.parametrize(
    ("path", "records_path", "match"),
    [
        ("/v3/errors_200", ".", "status 200 with only errors: internal hiccup"),
        ("/v3/errors_200", None, "status 200 with only errors"),
        ("/v3/list_for_object", ".", "the body is not an object"),
    ],
)
def test_an_error_or_a_list_is_no_single_record(
    hook: SendGridHook, path: str, records_path: str | None, match: str
) -> None:
    """A one-record endpoint (``/v3/user/account``) answering an error with status 200 would
    otherwise retire the real record for a record of ``errors``."""
    with pytest.raises(SendGridFatalError, match=match):
        list(hook.iter_records(path, pagination="none", records_path=records_path))


def test_a_paginator_tripping_over_a_response_fails_with_a_clear_pagination_error(
    hook: SendGridHook,
) -> None:
    """Whatever a paginator's own bookkeeping fails on (here a ``Link`` next whose ``limit`` is
    ``abc``) ends the read with a :class:`SendGridPaginationError` naming the path and page,
    not a bare ``ValueError`` that callers cannot tell from a bug of theirs."""
    with pytest.raises(SendGridPaginationError) as caught:
        _ids(hook, "/v3/offset_link_bad_limit", "offset")
    message = str(caught.value)
    assert message.startswith("/v3/offset_link_bad_limit: page 2 ")
    assert "ValueError" in message


@pytest.mark.parametrize(
    ("path", "pagination", "records_path", "match"),
    [
        ("/v3/null_result", "offset", None, r"'result' is null, not a list"),
        ("/v3/null_result", "none", "result", r"'result' is null, not a list"),
        ("/v3/null_results", "metadata_next", "results", r"'results' is null, not a list"),
        ("/v3/no_content", "offset", None, r"204 No Content where records were expected"),
        ("/v3/no_content", "none", ".", r"204 No Content where records were expected"),
    ],
)
def test_a_null_list_or_no_content_is_no_empty_list(
    hook: SendGridHook, path: str, pagination: str, records_path: str | None, match: str
) -> None:
    """``{"result": null}`` or a 204 is no complete, empty snapshot (which would mark every
    current row deleted): the read fails with a clear error and the caller keeps its rows."""
    with pytest.raises(SendGridFatalError, match=match) as caught:
        list(hook.iter_records(path, pagination=pagination, records_path=records_path))
    assert "every current row would be marked deleted" in str(caught.value)
    assert hook.request_count == 1


def test_keyset_next_params_that_are_no_object_end_in_a_clear_error(hook: SendGridHook) -> None:
    """``_metadata.next_params`` as the text ``"after_key=5"``: no cursor can be read from it.
    It once raised ``AttributeError: 'str' object has no attribute 'get'``."""
    with pytest.raises(SendGridPaginationError, match=r"_metadata.next_params is not an object"):
        _ids(hook, "/v3/keyset_params_text", "keyset", "result")
    assert hook.request_count == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://api.sendgrid.com:443/v3/templates?page_token=2",
        "https://API.SendGrid.com/v3/templates?page_token=2",
        "HTTPS://api.sendgrid.com:443/v3/templates",
        "/v3/templates?page_token=2",
    ],
)
def test_a_next_url_on_the_same_origin_spelled_otherwise_is_followed(url: str) -> None:
    """The default port written out or the host in capitals is the configured origin; it was
    refused with a message naming that very host."""
    transport = Transport("https://api.sendgrid.com", requests.Session())
    assert transport.resolve(url).lower().endswith(url.split("/v3/", 1)[1].lower())


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://evil.example/v3/templates", "https://evil.example"),
        ("http://api.sendgrid.com/v3/templates", "http://api.sendgrid.com"),
        ("https://api.sendgrid.com:8443/v3/templates", "https://api.sendgrid.com:8443"),
        ("https://api.sendgrid.com@evil.example/v3/x", "https://evil.example"),
        ("https://user@api.sendgrid.com/v3/x", "https://api.sendgrid.com"),
        ("https://api.sendgrid.com:x/v3/x", "https://api.sendgrid.com"),
        ("https://api.sendgrid.com./v3/x", "https://api.sendgrid.com."),
    ],
)
def test_a_url_on_another_origin_is_still_refused(url: str, named: str) -> None:
    transport = Transport("https://api.sendgrid.com", requests.Session())
    with pytest.raises(SendGridFatalError, match="refusing to follow a URL on another host") as e:
        transport.resolve(url)
    assert str(e.value).endswith(f"({named})")


def test_a_body_starting_with_a_utf8_bom_is_read(hook: SendGridHook) -> None:
    """The byte order mark is dropped (RFC 8259 §8.1); the body was retried six times and then
    called truncated."""
    assert _ids(hook, "/v3/bom", "none", "result") == [0, 1]
    assert hook.request_count == 1
