"""A secret is masked in every form it takes: whole, URL-encoded, base64, in JSON, split.

The secret is 43 characters (a PKCE verifier or 32 random bytes in base64) and holds ``/`` and
``+``, the characters that URL-encoding and JSON escaping rewrite.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import pytest
from sendgrid_hook.redaction import ScrubFilter, register_basic_auth, register_secret, scrub

SECRET = "q7/Lm+Xw2Rt9/Vb0Zk4+Hn8Pd3Ys6Fa1Jc5Ue7Gi2Oo"
CLIENT_ID = "client-123"
WINDOW = 8  # no run of this many characters of the secret (or of its encoding) may remain


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


FORMS: dict[str, tuple[str, str]] = {
    # name: (text as it appears, the part of it that encodes the secret)
    "whole, on its own": (SECRET, SECRET),
    "whole, in a sentence": (f"the secret is {SECRET}.", SECRET),
    "url-encoded": (f"refresh={quote(SECRET, safe='')}&x=1", quote(SECRET, safe="")),
    "form-encoded body": (urlencode({"grant": "x", "r": SECRET}), quote_plus(SECRET)),
    "url path-encoded": (f"/v3/{quote(SECRET)}/x", quote(SECRET)),
    "base64": (_b64(SECRET), _b64(SECRET)),
    "base64, unpadded": (_b64(SECRET).rstrip("="), _b64(SECRET).rstrip("=")),
    "urlsafe base64": (
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
    ),
    "basic auth header": (
        f"Authorization: Basic {_b64(f'{CLIENT_ID}:{SECRET}')}",
        _b64(f"{CLIENT_ID}:{SECRET}"),
    ),
    "in JSON": (json.dumps({"value": SECRET}), SECRET),
    "in JSON, slashes escaped": (
        json.dumps({"v": SECRET}).replace("/", "\\/"),
        json.dumps(SECRET)[1:-1].replace("/", "\\/"),
    ),
    "split across a log line, in half": (f"{SECRET[:21]}\n{SECRET[21:]}", SECRET),
    "split across a log line, near its start": (f"key: {SECRET[:6]}\n{SECRET[6:]} ok", SECRET),
    "split across a log line, near its end": (f"{SECRET[:-5]}\r\n{SECRET[-5:]}", SECRET),
    "first half closing one log record": (f"echo {SECRET[:21]}", SECRET[:21]),
    "second half opening the next record": (f"{SECRET[21:]} (done)", SECRET[21:]),
}


@pytest.fixture(autouse=True)
def registered() -> None:
    register_secret(SECRET, "client_secret")
    register_basic_auth(CLIENT_ID, SECRET)


def leaks(text: str, needle: str) -> list[str]:
    """Runs of ``WINDOW`` characters of ``needle`` that appear in ``text``."""
    return [needle[i : i + WINDOW] for i in range(len(needle) - WINDOW + 1)
            if needle[i : i + WINDOW] in text]  # fmt: skip


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_scrub_masks_every_form(form: str) -> None:
    text, encoded = FORMS[form]
    out = scrub(text)
    assert not leaks(out, SECRET), out
    assert not leaks(out, encoded), out
    assert "***" in out


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_log_records_are_masked(form: str, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.secret_forms")
    logger.addFilter(ScrubFilter())
    text, encoded = FORMS[form]
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("%s", text)
    (record,) = caplog.records
    assert not leaks(record.getMessage(), SECRET)
    assert not leaks(record.getMessage(), encoded)


@pytest.mark.parametrize("form", [f for f in FORMS if "split" not in f and "half" not in f])
def test_airflow_task_log_masker_knows_the_encoded_forms(form: str) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    text, encoded = FORMS[form]
    out = str(redact(text))
    assert not leaks(out, SECRET), out
    assert not leaks(out, encoded), out


def test_text_that_merely_resembles_the_secret_is_left_alone() -> None:
    text = "GET /v3/templates?page_size=200 took 0.12 s (q7/L is not enough)"
    assert scrub(text) == text


def test_guard_credentials_masks_an_oauth_exchange_logged_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What requests-oauthlib logs at DEBUG while the Connect page exchanges a code (request
    headers with the Basic client credentials, the code, the tokens received): masked once
    :func:`guard_credentials` ran for the connection, as the page does before and after."""
    import base64
    from types import SimpleNamespace

    from sendgrid_hook.auth.oauth2 import guard_credentials

    client_secret, code = "cs-" + SECRET[::-1], "code-Q1w2E3r4T5y6"
    access, refresh = "at-Z9x8C7v6B5n4M3", "rt-A1s2D3f4G5h6J7"
    settings = SimpleNamespace(client_id="cid-42", client_secret=client_secret, refresh_token=None)
    guard_credentials(settings, code)  # type: ignore[arg-type]
    basic = base64.b64encode(f"cid-42:{client_secret}".encode()).decode()
    logger = logging.getLogger("requests_oauthlib.oauth2_session")
    with caplog.at_level(logging.DEBUG, logger="requests_oauthlib"):
        logger.debug("Prepared fetch token request body %s", f"code={code}&grant_type=x")
        logger.debug("Request headers were %s", {"Authorization": f"Basic {basic}"})
        guard_credentials(settings, access, refresh)  # type: ignore[arg-type]
        logger.debug("Obtained token %s.", f"tokens {access} {refresh}")
    assert caplog.records, "debug records were captured"
    for needle in (client_secret, basic, code, access, refresh):
        assert needle not in caplog.text, needle


def test_scrub_masks_the_user_info_of_any_url() -> None:
    """Proxy credentials in a URL never reach a log line or an error, whoever writes them."""
    text = "connect to https://ops:Hunter2x@proxy.example:8443/v3 failed ('http://u@h/')"
    assert scrub(text) == "connect to https://***@proxy.example:8443/v3 failed ('http://***@h/')"
    pasted = "via https://ops:Hun/ter2x@proxy/v3 or https://ops:Hun@ter2x@proxy/v3"
    assert scrub(pasted) == "via https://***@proxy/v3 or https://***@proxy/v3"
    plain = "mail a@x.org via https://proxy.example/v3"
    assert scrub(plain) == plain
    path = "GET https://api.sendgrid.com:443/v3/suppression/bounces/a@x.org?q=a:b/c@d failed"
    assert scrub(path) == path  # a port, a path and a query are no user info


def test_a_hook_looks_in_records_for_its_own_credential_only(set_conn: Any) -> None:
    """Records are searched for the forms of the credential the hook sends, not for every
    secret the process registered (a batch reads many tenants: the search would grow with
    them), and never for a short value that ordinary text may contain."""
    from sendgrid_hook.hooks.sendgrid import SendGridHook
    from sendgrid_hook.redaction import echo_forms

    key, other = f"SG.{'a' * 22}.{SECRET[:43]}", f"SG.{'b' * 22}.{'z' * 43}"
    for conn_id, password in (("sg_own", key), ("sg_other", other)):
        set_conn(conn_id, {"conn_type": "sendgrid", "host": "https://api.sendgrid.com",
                           "password": password})  # fmt: skip
    own, neighbour = (
        SendGridHook(sendgrid_conn_id="sg_own"),
        SendGridHook(sendgrid_conn_id="sg_other"),
    )
    assert other in neighbour.secret_forms()  # registered in this process too
    forms = own.secret_forms()
    assert key in forms
    assert quote(SECRET[:43], safe="") in forms  # the secret part, in its encoded forms too
    assert not any(other in f or "z" * 43 in f for f in forms)
    register_secret("abc123", "client_secret")
    assert echo_forms(("abc123", None)) == ()  # 'abc123@example.com' stays as it is
