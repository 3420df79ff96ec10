"""One stray 401 for a working API key is asked again; only a second 401 in a row is a reconnect.

SendGrid now and then answers 401 to a valid key. The streams double-check a 401 against
``/v3/scopes``, but the opening calls (``/v3/scopes`` when a tenant starts, the connection check)
did not: one stray 401 became a "reconnect SendGrid" alert. The simulator's hostile switch
``answer_status=401`` answers every ``/v3/scopes`` request with 401; it is turned off during the
hook's pause, as a stray 401 passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sendgrid_hook.auth import api_key
from sendgrid_hook.errors import ReconnectRequired
from sendgrid_hook.hooks.sendgrid import SendGridHook

from sendgrid_simulator import hostile
from tests.hook.conftest import TEST_CONN, api_key_conn

PAUSE = 0.05


@pytest.fixture
def hook(sim: Any, tenant: dict, set_conn: Any, monkeypatch: pytest.MonkeyPatch) -> SendGridHook:
    monkeypatch.setattr(api_key, "UNAUTHORIZED_PAUSE_SECONDS", PAUSE, raising=False)
    set_conn(TEST_CONN, api_key_conn(sim, tenant["api_keys"]["full"]))
    return SendGridHook(sendgrid_conn_id=TEST_CONN, backoff_base=0.01)


def _refuse(sim: Any, path: str) -> None:
    """Every request to ``path`` is answered 401 (whatever the key) until switched off."""
    hostile.configure(sim.base_url, answer_status=401, answer_message="authorization required",
                      paths=[path])  # fmt: skip


def _pause_recording(hook: SendGridHook, sim: Any, recover: bool) -> list[float]:
    """Record the hook's pauses; with ``recover``, SendGrid answers normally again meanwhile."""
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if recover:
            hostile.configure(sim.base_url)
        time.sleep(seconds)

    auth: Any = hook.get_conn().auth
    auth.sleep = pause
    return pauses


@pytest.mark.parametrize(
    "opening_call",
    [lambda h: h.granted_scopes(), lambda h: h.test_connection()],
    ids=["scopes", "test_connection"],
)
def test_one_stray_401_on_an_opening_call_is_asked_again(
    hook: SendGridHook, sim: Any, opening_call: Callable[[SendGridHook], Any]
) -> None:
    _refuse(sim, "/v3/scopes")
    pauses = _pause_recording(hook, sim, recover=True)
    result = opening_call(hook)
    assert "user.account.read" in hook.granted_scopes()
    if isinstance(result, tuple):  # test_connection: (ok, message)
        assert result[0], result[1]
    assert pauses == [PAUSE]
    assert hook.transport.status_counts.get(401) == 1


def test_a_second_401_in_a_row_asks_for_a_reconnect(hook: SendGridHook, sim: Any) -> None:
    _refuse(sim, "/v3/scopes")
    pauses = _pause_recording(hook, sim, recover=False)
    with pytest.raises(ReconnectRequired) as gone:
        hook.granted_scopes()
    assert gone.value.reason == "api_key_rejected"
    assert pauses == [PAUSE]
    assert hook.request_count == 2


def test_a_revoked_key_asks_for_a_reconnect(hook: SendGridHook, sim: Any, tenant: dict) -> None:
    pauses = _pause_recording(hook, sim, recover=False)
    sim.control.revoke_key(tenant["api_keys"]["full"])
    with pytest.raises(ReconnectRequired) as gone:
        hook.granted_scopes()
    assert gone.value.reason == "api_key_rejected"
    assert tenant["api_keys"]["full"] not in str(gone.value)
    assert (pauses, hook.request_count) == ([PAUSE], 2)


def test_each_request_gets_its_own_second_chance(hook: SendGridHook, sim: Any) -> None:
    """A 401 answered well the second time leaves nothing behind: the next request's stray 401
    is asked again too, not taken for the second of a row."""
    pauses = _pause_recording(hook, sim, recover=True)
    _refuse(sim, "/v3/scopes")
    hook.granted_scopes()
    _refuse(sim, "/v3/user/username")
    assert hook.get_json("/v3/user/username")["username"]
    assert pauses == [PAUSE, PAUSE]
    assert hook.request_count == 4


def test_a_401_then_another_error_leaves_no_first_401_behind(hook: SendGridHook, sim: Any) -> None:
    """401, then 404 for the request sent again: the same request later answered 401 is a first
    401 again (paused and asked once more), not the second of a row."""
    path = "/v3/user/username"
    answers = iter([{"answer_status": 404, "answer_message": "not found"}, {}])
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        hostile.configure(sim.base_url, paths=[path], **next(answers))

    auth: Any = hook.get_conn().auth
    auth.sleep = pause
    _refuse(sim, path)
    with pytest.raises(Exception) as first:  # noqa: PT011 (any error but a reconnect)
        hook.get_json(path)
    assert not isinstance(first.value, ReconnectRequired)
    _refuse(sim, path)
    assert hook.get_json(path)["username"]  # paused, asked again, answered
    assert pauses == [PAUSE, PAUSE]


def test_a_401_a_503_and_a_401_again_is_the_key_refused_twice(hook: SendGridHook, sim: Any) -> None:
    """401, then 503 for the request sent again, then 401 for its retry: the 503 says nothing
    about the key, so the request was refused twice. Before, the 503 cleared the first 401 and
    the API-key tenant read "SendGrid rejected a freshly refreshed OAuth access token"."""
    path = "/v3/user/username"
    pauses: list[float] = []

    def pause(seconds: float) -> None:  # the 401's pause: SendGrid now answers 503
        pauses.append(seconds)
        hostile.configure(sim.base_url, answer_status=503, answer_message="busy", paths=[path])

    def backoff(seconds: float) -> None:  # the 503's backoff: SendGrid refuses the key again
        _refuse(sim, path)

    auth: Any = hook.get_conn().auth
    auth.sleep = pause
    hook.transport.sleep = backoff
    _refuse(sim, path)
    with pytest.raises(ReconnectRequired) as gone:
        hook.get_json(path)
    assert gone.value.reason == "api_key_rejected"
    assert "OAuth" not in str(gone.value)
    assert pauses == [PAUSE]
    assert hook.request_count == 3
