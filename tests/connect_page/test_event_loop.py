"""The Connect page never blocks the API server's event loop.

The app runs inside the API server, next to Airflow's own UI and REST API, on one event loop.
The OAuth callback's work is slow and synchronous (metadata DB, the token exchange, the health
check's SendGrid calls): it must run in the thread pool, so other requests are served meanwhile.
The real app, in this process (``httpx.ASGITransport``); the slow step sleeps instead of waiting
on the network.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from sendgrid_connect import health, oauth
from sendgrid_connect.app import create_app

SLOW = 1.0  # seconds the slow step takes


@pytest.mark.parametrize("slow_step", ["finish", "record_check"])
def test_a_slow_oauth_callback_does_not_hold_up_other_requests(
    airflow_home, monkeypatch, slow_step: str
) -> None:
    """While the callback waits on the token exchange (``oauth.finish``) or on the health check
    (``health.record_check``), another request to the app is answered at once."""
    started = threading.Event()
    step_done_at: list[float] = []
    result = oauth.FlowResult("slow_callback", invite=True, next_path=None)
    check = health.Check(True, "all streams have their scopes")

    def step(name: str, value: object):
        def run(*args, **kwargs):
            if name == slow_step:
                started.set()
                time.sleep(SLOW)  # blocking, as the DB and HTTP calls it stands for
                step_done_at.append(time.monotonic())
            return value

        return run

    monkeypatch.setattr(oauth, "finish", step("finish", result))
    monkeypatch.setattr(health, "record_check", step("record_check", check))

    async def scenario() -> tuple[httpx.Response, httpx.Response, float]:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            callback = asyncio.create_task(
                client.get("/oauth/callback", params={"state": "s", "code": "c"})
            )
            while not started.is_set():  # the callback is inside its slow step
                await asyncio.sleep(0.01)
            other = await client.get("/")
            other_at = time.monotonic()
            return await callback, other, other_at

    callback, other, other_at = asyncio.run(scenario())
    assert callback.status_code == 200, callback.text[:300]
    assert "The SendGrid organization is connected." in callback.text
    assert other.status_code == 303
    assert other_at < step_done_at[0], "the other request waited for the callback's slow step"
