"""Odd numbers and error bodies from a misbehaving server (real sockets): none of them may
escape as a Python error, nor make a page that parses fail as if it were truncated.

* an ``X-RateLimit-*`` header of ``inf``/``1e400``/``nan`` is ignored (``OverflowError`` out
  of the limiter failed the tenant on ``/v3/scopes``, before any status row);
* an error body of another shape (``{"errors": 5}``) or nested too deeply still lets the
  status decide (a 503 retried, a 401 routed to reconnect);
* an integer literal over 4,300 digits or a byte that is not UTF-8 leaves the page readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sendgrid_hook.auth import api_key
from sendgrid_hook.errors import ReconnectRequired, SendGridRetriableError
from sendgrid_hook.hooks.sendgrid import SendGridHook
from sendgrid_hook.json_body import HugeInt
from sendgrid_hook.rate_limit import RateLimiter

from .fake_api import JsonHandler, serving_hook

DEEP = b"[" * 100_000 + b"]" * 100_000
BIG = "1" + "0" * 5000
ERROR_BODIES = {"numbers": b'{"errors": 5}', "text": b'{"errors": "down"}', "deep": DEEP}


class Handler(JsonHandler):
    """``/v3/scopes?reset=…`` sets the rate-limit headers; ``/v3/error?status=…&body=…``
    answers an odd error body; ``/v3/huge_int`` and ``/v3/bad_utf8`` odd 200 bodies."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/v3/scopes":
            value = q.get("reset", "inf")
            headers = {"X-RateLimit-Limit": value, "X-RateLimit-Remaining": value,
                       "X-RateLimit-Reset": value}  # fmt: skip
            self.send(200, json.dumps({"scopes": ["mail.send"]}).encode(), headers)
        elif parts.path == "/v3/error":
            self.send(int(q["status"]), ERROR_BODIES[q["body"]], {})
        elif parts.path == "/v3/huge_int":
            self.send(200, b'{"result": [{"id": 1, "n": ' + BIG.encode() + b'}, {"id": 2}]}', {})
        elif parts.path == "/v3/bad_utf8":
            self.send(200, b'{"result": [{"id": 1, "name": "al\xffice"}]}', {})
        else:
            self.send(404, b'{"errors": [{"message": "not found"}]}', {})


@pytest.fixture
def hook(set_conn: Any) -> Iterator[SendGridHook]:
    with serving_hook(Handler, set_conn, "sg_odd", backoff_base=0.001, backoff_max=0.01) as served:
        yield served


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "nan", "Infinity"])
def test_non_finite_rate_limit_headers_are_ignored(hook: SendGridHook, value: str) -> None:
    assert hook.get_json("/v3/scopes", params={"reset": value}) == {"scopes": ["mail.send"]}
    assert hook.get_json("/v3/scopes", params={"reset": value}) == {"scopes": ["mail.send"]}
    assert hook.transport.limiter.waited == 0


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-1e999"])
def test_the_limiter_keeps_its_state_on_a_non_finite_header(value: str) -> None:
    limiter = RateLimiter(clock=lambda: 1000.0, sleep=lambda _s: None)
    limiter.update("b", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1001"}, 200)
    limiter.update("b", {"X-RateLimit-Limit": value, "X-RateLimit-Remaining": value,
                         "X-RateLimit-Reset": value}, 200)  # fmt: skip
    assert limiter.seconds_until_reset("b") == 1.0  # the last sensible reset still holds
    assert limiter.delay_for("b") == pytest.approx(1.01)


@pytest.mark.parametrize("body", sorted(ERROR_BODIES))
def test_an_odd_503_body_is_still_retried(hook: SendGridHook, body: str) -> None:
    with pytest.raises(SendGridRetriableError, match="503") as error:
        hook.get_json("/v3/error", params={"status": 503, "body": body})
    assert hook.request_count == 6  # 1 + max_retries (5)
    assert "gave up after 6 attempts" in str(error.value)


@pytest.mark.parametrize("body", sorted(ERROR_BODIES))
def test_an_odd_401_body_still_asks_for_a_reconnect(
    hook: SendGridHook, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_key, "UNAUTHORIZED_PAUSE_SECONDS", 0.01)
    with pytest.raises(ReconnectRequired) as gone:
        hook.get_json("/v3/error", params={"status": 401, "body": body})
    assert gone.value.reason == "api_key_rejected"
    assert hook.request_count == 2  # a first 401 is asked once more (a stray one happens)


def test_a_page_with_an_integer_too_long_to_parse_is_read_at_once(hook: SendGridHook) -> None:
    """It was taken for a truncated body: retried five times, then the stream failed."""
    records = list(hook.iter_records("/v3/huge_int", pagination="none", records_path="result"))
    assert records == [{"id": 1, "n": HugeInt(BIG)}, {"id": 2}]
    assert hook.request_count == 1


def test_a_page_with_a_byte_that_is_not_utf8_is_read_at_once(hook: SendGridHook) -> None:
    records = list(hook.iter_records("/v3/bad_utf8", pagination="none", records_path="result"))
    assert records == [{"id": 1, "name": "al\udcffice"}]
    assert hook.request_count == 1
