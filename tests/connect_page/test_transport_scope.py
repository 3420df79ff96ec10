"""The Connect page lets oauthlib use plain http for a loopback endpoint only around its own
requests: the API server's process keeps oauthlib's https check for everything else."""

from __future__ import annotations

import os

import pytest
from oauthlib.oauth2 import InsecureTransportError
from requests_oauthlib import OAuth2Session
from sendgrid_connect.tenants import TenantError, check_transport
from sendgrid_hook.auth.token_session import INSECURE_TRANSPORT_ENV, loopback_transport


def test_checking_an_endpoint_changes_nothing_process_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INSECURE_TRANSPORT_ENV, raising=False)
    check_transport("http://127.0.0.1:8025/oauth/token")  # the simulator: accepted
    check_transport("https://api.sendgrid.com/oauth/token")
    assert INSECURE_TRANSPORT_ENV not in os.environ
    with pytest.raises(TenantError, match="https"):
        check_transport("http://api.sendgrid.com/oauth/token")
    # oauthlib itself still refuses plain http outside the page's own requests
    with pytest.raises(InsecureTransportError):
        OAuth2Session("client").authorization_url("http://127.0.0.1:8025/oauth/authorize")


def test_the_page_s_own_request_to_a_loopback_endpoint_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(INSECURE_TRANSPORT_ENV, raising=False)
    with loopback_transport("http://127.0.0.1:8025/oauth/authorize"):
        url, _ = OAuth2Session("client").authorization_url("http://127.0.0.1:8025/oauth/authorize")
    assert url.startswith("http://127.0.0.1:8025/oauth/authorize?")
    assert INSECURE_TRANSPORT_ENV not in os.environ
