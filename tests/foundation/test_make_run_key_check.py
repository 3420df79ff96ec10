"""``make run`` with a key that cannot work says why within seconds, never printing the key.

Before, an unreachable host cost the extract task's three retries (about 11 minutes of
silence) and a rejected key ended as a bare ``failed``: the reason was only in ``run.log``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from sendgrid_elt.settings import PROJECT_ROOT
from tests.foundation.plain_shell import plain_env

pytestmark = pytest.mark.timeout(300)
#: Seconds the whole command may take: make, Python and Airflow's import, one request.
FAST = 90.0


def _make_run(local: Path, **environ: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    with subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=PROJECT_ROOT,
        env=plain_env(local, **environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # on a timeout, the Python under make is stopped too
    ) as proc:
        try:  # before the check, this waited out the extract task's retries (minutes)
            stdout, stderr = proc.communicate(timeout=FAST * 2)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out, time.monotonic() - started


def test_an_unreachable_host_is_named_within_seconds(tmp_path: Path) -> None:
    from sendgrid_simulator.testing import free_socket

    with free_socket() as sock:  # a port nothing listens on once the socket is closed
        port = int(sock.getsockname()[1])
    key = "SG.unreachable-check-0123456789abcdef"
    out, took = _make_run(
        tmp_path / "local", SENDGRID_API_KEY=key, SENDGRID_BASE_URL=f"http://127.0.0.1:{port}"
    )
    assert out.returncode != 0
    assert took < FAST, took
    assert f"cannot reach SendGrid at 127.0.0.1:{port}" in out.stdout, out.stdout + out.stderr
    assert key not in out.stdout + out.stderr
    assert "==> " not in out.stdout  # no DAG ran
    assert key not in (tmp_path / "local" / "run" / "run.log").read_text()


def test_a_rejected_key_names_the_401_in_the_terminal(tmp_path: Path) -> None:
    from sendgrid_simulator.testing import run_simulator

    key = "SG.rejected-by-sendgrid-0123456789abcdef"
    with run_simulator(seed=7, scale="tiny") as sim:
        out, took = _make_run(
            tmp_path / "local", SENDGRID_API_KEY=key, SENDGRID_BASE_URL=sim.base_url
        )
    assert out.returncode != 0
    assert took < FAST, took
    host = sim.base_url.split("://", 1)[1]
    assert f"SendGrid at {host} rejected the API key (401 Unauthorized)" in out.stdout, (
        out.stdout + out.stderr
    )
    assert "SENDGRID_API_KEY" in out.stdout  # what to do about it
    assert key not in out.stdout + out.stderr
