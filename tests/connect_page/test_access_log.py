"""No OAuth code, OAuth state or invite token in the real API server's access log.

Airflow's ``HttpAccessLogMiddleware`` writes one line per request (path and query string) once
the response is complete. These tests drive the real ``airflow api-server`` (conftest) and read
its log: each request carries an ``x-request-id`` the access line repeats, so the test waits for
exactly the lines it caused.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs, urldefrag, urlsplit

import requests
from sendgrid_connect.access_log import scrub_query

from .conftest import (
    connection_extra,
    continue_invite,
    create_tenant_connection,
    new_conn_id,
    open_invite,
)
from .test_invite_links import _invite
from .test_security import _consent, _start


def _rid() -> dict[str, str]:
    return {"x-request-id": f"rid-{uuid.uuid4().hex}"}


def _access_line(api_server, headers: dict[str, str], timeout: float = 20) -> str:
    """The access log line of the request sent with ``headers`` (waits for it)."""
    rid = headers["x-request-id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in api_server.log_path.read_text(errors="replace").splitlines():
            if rid in line and "http.access" in line:
                return line
        time.sleep(0.2)
    raise AssertionError(f"no access log line for {rid}:\n{api_server.log_tail()}")


def _log(api_server) -> str:
    return api_server.log_path.read_text(errors="replace")


def test_the_oauth_code_and_state_never_reach_the_access_log(api_server, sim) -> None:
    conn_id = new_conn_id("log_code")
    tenant = create_tenant_connection(conn_id, sim)
    session = api_server.session("admin")
    start = _start(session, api_server, conn_id)
    assert start.status_code == 303
    callback = _consent(session, start.headers["location"], tenant)
    query = parse_qs(urlsplit(callback).query)
    code, state = query["code"][0], query["state"][0]

    headers = _rid()
    done = session.get(callback, headers=headers, allow_redirects=False, timeout=60)
    assert done.status_code == 303, done.text[:300]
    assert connection_extra(conn_id)["extra"]["refresh_token"]  # the route read the real code
    line = _access_line(api_server, headers)
    assert "path=/sendgrid/oauth/callback" in line, line
    assert code not in line, line
    assert state not in line, line
    assert "code=%2A%2A%2A" in line, line

    # refused callbacks too: a replay, a forged state, a percent-encoded name (no sign-in needed)
    forged = f"c0de-{uuid.uuid4().hex}"
    refused = f"{api_server.base_url}/sendgrid/oauth/callback"
    for url in (callback, f"{refused}?state=x&code={forged}", f"{refused}?cod%65={forged}"):
        headers = _rid()
        assert requests.get(url, headers=headers, timeout=30).status_code == 400
        line = _access_line(api_server, headers)
        for secret in (code, state, forged):
            assert secret not in line, line
    assert code not in _log(api_server)
    assert forged not in _log(api_server)


def test_an_invite_token_never_reaches_the_access_log(api_server, sim) -> None:
    """The invitee opens the link, continues to SendGrid and approves: no request line holds
    the link's token (it travels in the fragment, then in a form body)."""
    conn_id = new_conn_id("log_invite")
    tenant = create_tenant_connection(conn_id, sim, index=2)
    link = _invite(api_server, conn_id)
    token = link.rsplit("#", 1)[-1].rsplit("/", 1)[-1]  # the fragment (or, before, the path)
    assert len(token) > 40

    guest = requests.Session()
    headers = _rid()
    opened = guest.get(urldefrag(link).url, headers=headers, timeout=30)  # what a browser sends
    assert opened.status_code == 200
    assert token not in _access_line(api_server, headers)

    landing = open_invite(guest, link)
    assert landing.status_code == 200, landing.text[:300]
    start = continue_invite(guest, link, landing.text)
    assert start.status_code == 303
    done = guest.get(_consent(guest, start.headers["location"], tenant), headers=_rid(),
                     timeout=60)  # fmt: skip
    assert "is connected" in done.text
    headers = _rid()
    assert guest.get(urldefrag(link).url, headers=headers, timeout=30).status_code == 200
    _access_line(api_server, headers)  # every earlier line is written by now
    log = _log(api_server)
    assert "path=/sendgrid/invite/start" in log
    assert token not in log


def test_scrub_query_hides_only_the_secret_parameters() -> None:
    assert scrub_query(b"") == b""
    assert scrub_query(b"state=s.1&code=abc%2F&x=1") == b"state=***&code=***&x=1"
    assert (
        scrub_query(b"Cod%65=a&STATE&error=access_denied")
        == b"Cod%65=***&STATE=***&error=access_denied"
    )
    assert scrub_query(b"flash=eyJ.x&tenant=a+b&codes=1") == b"flash=eyJ.x&tenant=a+b&codes=1"
