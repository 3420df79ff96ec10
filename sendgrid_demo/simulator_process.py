"""Run the SendGrid simulator as a child process on its stable port (a free one if taken).

The port is :data:`~sendgrid_hook.constants.SIMULATOR_PORT` (8025, the connection form's hint)
whenever it is free, so a connection a user pointed at the simulator of one ``make airflow``
session still reaches the simulator of the next ``make demo``; when something else listens
there, any free port is taken and :attr:`SimulatorProcess.fallback` says so.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from sendgrid_hook.constants import SIMULATOR_PORT

from sendgrid_simulator.testing import SimulatorControl, free_socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with free_socket() as sock:
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port`` now (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(preferred: int = SIMULATOR_PORT) -> int:
    """``preferred`` when it is free, else a free port."""
    return preferred if port_is_free(preferred) else free_port()


class SimulatorProcess:
    """``python -m sendgrid_simulator serve`` in a subprocess, stopped on exit.

    Args:
        seed: Data seed (same seed, same organizations).
        scale: ``tiny`` | ``demo`` | ``large``.
        clock: Simulated today (``YYYY-MM-DD``); None = the simulator's default.
        log_file: Where the server's output goes.
        preferred_port: The port to listen on when it is free (else any free port).
    """

    def __init__(
        self,
        *,
        seed: int,
        scale: str,
        clock: str | None = None,
        log_file: Path | None = None,
        preferred_port: int = SIMULATOR_PORT,
    ) -> None:
        self.seed, self.scale, self.clock = seed, scale, clock
        self.log_file = log_file
        self.preferred_port = preferred_port
        self._use(choose_port(preferred_port))
        self._proc: subprocess.Popen[bytes] | None = None

    def _use(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.control = SimulatorControl(self.base_url)

    @property
    def fallback(self) -> str | None:
        """Why the simulator is not on its stable port (``None`` when it is)."""
        if self.port == self.preferred_port:
            return None
        return (
            f"port {self.preferred_port} is taken, so the simulator listens on {self.port}: "
            f"connections pointed at http://127.0.0.1:{self.preferred_port} reach whatever "
            "listens there, not this simulator"
        )

    def start(self, timeout: float = 60.0) -> SimulatorProcess:
        """Start the server and wait until its control API answers.

        When the stable port was taken between the check and the server's bind (the server
        exits at once), the server starts again on a free port.
        """
        try:
            return self._start(timeout)
        except RuntimeError:
            if self.port != self.preferred_port or port_is_free(self.preferred_port):
                raise
            self._use(free_port())
            return self._start(timeout)

    def _start(self, timeout: float) -> SimulatorProcess:
        argv = [sys.executable, "-m", "sendgrid_simulator", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--seed", str(self.seed), "--scale", self.scale]
        if self.clock:
            argv += ["--clock", self.clock]
        out = self.log_file.open("ab") if self.log_file else subprocess.DEVNULL
        self._proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"simulator exited with code {self._proc.returncode}")
            try:
                self.control.clock()
                return self
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"simulator did not answer on {self.base_url} within {timeout:.0f}s")

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop in 10 s)."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
