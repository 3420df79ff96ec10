"""SendGrid's (or a proxy's) error text forges no log line and reaches no terminal escape.

An error body's ``errors[].message``, or the first bytes of a body that is not SendGrid's JSON
(a proxy's HTML error page), are quoted in the retry warning and in the error raised, which the
stream's detail, the health alerts and the Connect page repeat. Line breaks and escapes in them
are written as ``\\n``, ``\\r``, ``\\x1b``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sendgrid_hook.errors import SendGridRetriableError
from sendgrid_hook.hooks.sendgrid import SendGridHook

from .fake_api import JsonHandler, serving_hook

FORGED = "[2026-12-07 12:00:00] INFO - all fine"
BODIES = {
    "/v3/json": json.dumps({"errors": [{"message": f"down\n{FORGED}\x1b[2J"}]}).encode(),
    "/v3/html": f"<html>\r\n<body>502 Bad Gateway\r\n{FORGED}\x1b[2J</body></html>".encode(),
}


class Handler(JsonHandler):
    """Answers 503 with the hostile body of its path."""

    def do_GET(self) -> None:
        self.send(503, BODIES[self.path.split("?")[0]], {})


@pytest.fixture
def hook(set_conn: Any) -> Iterator[SendGridHook]:
    with serving_hook(Handler, set_conn, "sg_echo_text", backoff_base=0.001,
                      backoff_max=0.01) as served:  # fmt: skip
        yield served


@pytest.mark.parametrize("path", sorted(BODIES))
def test_error_text_with_line_breaks_and_escapes_stays_one_line(
    hook: SendGridHook, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sendgrid_hook")
    with pytest.raises(SendGridRetriableError) as error:
        hook.get_json(path)
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert retries
    for text in [str(error.value), *retries]:
        assert not any(c in text for c in "\r\n\x1b"), text
        assert f"\\n{FORGED}\\x1b[2J" in text, text
