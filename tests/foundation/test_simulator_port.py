"""The demo's simulator listens on a stable port, so connections made against it keep working.

Before, every ``make demo`` / ``make airflow`` started the simulator on a new random port: a
connection a user added in one session (``--conn-host http://127.0.0.1:42141``) pointed at
nothing in the next, and that tenant's task sat in Airflow retry delays for minutes.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sendgrid_hook.constants import SIMULATOR_PORT
from sendgrid_hook.get_provider_info import get_provider_info

from sendgrid_demo.simulator_process import SimulatorProcess, choose_port, free_port
from sendgrid_simulator.cli import build_parser


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_one_port_for_the_simulator_the_demo_and_the_form_hint() -> None:
    assert SIMULATOR_PORT == 8025
    assert build_parser().parse_args(["serve"]).port == SIMULATOR_PORT
    (conn_type,) = get_provider_info()["connection-types"]
    hint = conn_type["ui-field-behaviour"]["placeholders"]["host"]
    assert f"http://127.0.0.1:{SIMULATOR_PORT} (simulator)" in hint


def test_the_preferred_port_when_free_else_another(listening: int) -> None:
    port = free_port()
    assert choose_port(port) == port
    assert choose_port(listening) != listening


def test_the_demo_simulator_listens_on_its_stable_port() -> None:
    port = free_port()  # stands for 8025, which another test or a user's demo may hold
    with SimulatorProcess(seed=1, scale="tiny", preferred_port=port) as sim:
        assert sim.port == port
        assert sim.base_url == f"http://127.0.0.1:{port}"
        assert sim.fallback is None
        assert sim.control.clock()["now"]
    assert SimulatorProcess(seed=1, scale="tiny").preferred_port == SIMULATOR_PORT


def test_the_demo_simulator_falls_back_to_a_free_port_and_says_so(listening: int) -> None:
    with SimulatorProcess(seed=1, scale="tiny", preferred_port=listening) as sim:
        assert sim.port != listening
        assert sim.control.clock()["now"]
        assert sim.fallback is not None
        assert f"port {listening} is taken" in sim.fallback
        assert str(sim.port) in sim.fallback
