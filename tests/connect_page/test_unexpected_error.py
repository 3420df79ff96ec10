"""A Connect page route's unexpected error never puts its message in the log or the page.

The message of an unexpected error may quote what the admin typed (``http.client`` quotes a
header value it refuses: a pasted API key), and the API server's log masks none of our secrets.
Before, such an error reached uvicorn, which logged the whole traceback with its message.
"""

from __future__ import annotations

import logging

import pytest

SECRET = "SG.leakedleakedleaked.secretsecretsecretsecretsecretsecret\\nrest"


def test_an_unexpected_error_is_a_plain_500_logged_without_its_message(
    airflow_home, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sendgrid_connect import access
    from sendgrid_connect import app as connect_app
    from starlette.testclient import TestClient

    def crash(*_args, **_kwargs):
        raise ValueError(f"Invalid header value b'Bearer {SECRET}'")

    monkeypatch.setattr(connect_app, "list_page", crash)
    app = connect_app.create_app()
    app.dependency_overrides[access.editor] = lambda: object()
    with caplog.at_level(logging.DEBUG), TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/connections")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert page.headers["cache-control"] == "no-store"  # the security headers still apply
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "failed with ValueError at" in logged, logged
    assert "/connections" in logged
    for text in (page.text, logged):
        assert "secretsecret" not in text
        assert "leakedleaked" not in text
