"""``make airflow`` stopped by ``kill`` or a closed terminal ends everything it started.

Ctrl-C reaches ``airflow standalone`` from the terminal (``test_make_airflow`` stops it so);
SIGTERM (``kill``, a service manager) and SIGHUP (the terminal closed) reach only our process,
whose default would be to die at once and leave Airflow running. A stand-in for ``airflow
standalone`` (a real process tree: it leaves a worker running when it stops, as the
LocalExecutor's workers outlive a scheduler) shows both the hand-over and the clean-up.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sendgrid_elt.settings import PROJECT_ROOT

#: The stand-in: starts a worker that ignores SIGTERM, writes its pid, and on SIGINT (the
#: Ctrl-C of ``airflow standalone``) notes it and exits, leaving the worker behind.
STANDALONE = """
import pathlib, signal, subprocess, sys, time
out = pathlib.Path(sys.argv[1])
worker = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
def stop(*_):
    (out / "standalone_got").write_text("SIGINT")
    sys.exit(0)
signal.signal(signal.SIGINT, stop)
(out / "worker_pid").write_text(str(worker.pid))
time.sleep(600)
"""

#: Our process, as ``python -m sendgrid_demo.airflow_ui`` runs it, with the stand-in.
WRAPPER = """
import sys
from sendgrid_demo.airflow_ui import Stopped, run_standalone, stop_on_signals
stop_on_signals()
try:
    code = run_standalone([sys.executable, "-c", sys.argv[1], sys.argv[2]])
except Stopped:
    code = 99
print("exit", code, flush=True)
"""


def _wait_for(path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.2)
    raise AssertionError(f"{path.name} never written")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_stops_standalone_and_what_it_left(tmp_path: Path, signum: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, STANDALONE, str(tmp_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    worker = None
    try:
        worker = psutil.Process(int(_wait_for(tmp_path / "worker_pid")))
        time.sleep(2.5)  # the tree watcher has seen the worker (it looks every 2 s)
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=60)

        # says at once that it is stopping (and how long that may take), stops as Ctrl-C
        # stops it, not killed mid-way, and says what it cleaned up
        assert out.splitlines() == ["Stopping Airflow (up to 40 s)...",
                                    "Stopped 1 processes airflow standalone left running.",
                                    "exit 0"]  # fmt: skip
        assert _wait_for(tmp_path / "standalone_got") == "SIGINT"  # standalone's own stop
        worker.wait(timeout=15)  # the worker standalone left running was ended
        assert not worker.is_running()
    finally:
        if proc.poll() is None:
            proc.kill()
        if worker is not None and worker.is_running():
            worker.kill()
