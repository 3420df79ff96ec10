"""Run the SendGrid simulator as a child process on a free local port."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from sendgrid_simulator.testing import SimulatorControl, free_socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with free_socket() as sock:
        return int(sock.getsockname()[1])


class SimulatorProcess:
    """``python -m sendgrid_simulator serve`` in a subprocess, stopped on exit.

    Args:
        seed: Data seed (same seed, same organizations).
        scale: ``tiny`` | ``demo`` | ``large``.
        clock: Simulated today (``YYYY-MM-DD``); None = the simulator's default.
        log_file: Where the server's output goes.
    """

    def __init__(
        self, *, seed: int, scale: str, clock: str | None = None, log_file: Path | None = None
    ) -> None:
        self.seed, self.scale, self.clock = seed, scale, clock
        self.log_file = log_file
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.control = SimulatorControl(self.base_url)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> SimulatorProcess:
        """Start the server and wait until its control API answers."""
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
