"""Fixtures for the simulator tests: real uvicorn servers on free ports, no mocks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests

from sendgrid_simulator.testing import RunningSimulator, run_simulator

CLOCK = dt.date(2026, 11, 28)


@pytest.fixture(scope="session")
def sim() -> Iterator[RunningSimulator]:
    """A shared read-only tiny simulator (tests must not mutate it)."""
    with run_simulator(
        seed=42, scale="tiny", clock=CLOCK, rate_limit="default=100000/1s"
    ) as running:
        yield running


@pytest.fixture
def fresh_sim() -> Iterator[RunningSimulator]:
    """A private tiny simulator a test may mutate."""
    with run_simulator(
        seed=42, scale="tiny", clock=CLOCK, rate_limit="default=100000/1s"
    ) as running:
        yield running


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    """A keep-alive HTTP session."""
    with requests.Session() as session:
        yield session


def call(
    session: requests.Session,
    sim: RunningSimulator,
    path: str,
    key: str | None,
    params: dict | list | None = None,
    headers: dict | None = None,
    **kw: object,
) -> requests.Response:
    """GET ``path`` on ``sim`` with a bearer ``key`` (``None``: no Authorization header)."""
    h = dict(headers or {})
    if key is not None:
        h["Authorization"] = f"Bearer {key}"
    return session.get(sim.base_url + path, params=params, headers=h, timeout=30, **kw)
