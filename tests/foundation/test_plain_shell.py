"""Documented commands from a plain shell on a machine without a PostgreSQL server configured:
each starts the embedded server itself (:func:`sendgrid_elt.embedded_postgres.named_or_embedded`)
and does its job."""

from __future__ import annotations

import re
import selectors
import signal
import subprocess
import time
from pathlib import Path

import requests

from sendgrid_elt.settings import PROJECT_ROOT
from tests.foundation.plain_shell import plain_env

PYTHON = str(PROJECT_ROOT / ".venv" / "bin" / "python")


def test_loader_gap_bench_runs_on_the_embedded_server(tmp_path: Path) -> None:
    out = subprocess.run(
        [PYTHON, "-m", "bench.bench_loader_gap", "--rows", "2000", "--repeat", "1"],
        cwd=PROJECT_ROOT, env=plain_env(tmp_path), capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"the embedded server in {tmp_path / 'bench' / 'postgres'}" in out.stdout
    assert "# bench_loader_gap: 2,000 bounces rows, median of 1 runs" in out.stdout
    loader = re.search(r"the loader \(first load\)\s+([\d,]+) rows/s\s+(\d+)% of the bare COPY",
                       out.stdout)  # fmt: skip
    assert loader, out.stdout
    assert int(loader.group(1).replace(",", "")) > 0
    assert int(loader.group(2)) > 0


def _line_matching(proc: subprocess.Popen[str], pattern: str, timeout: float) -> re.Match[str]:
    """Read ``proc``'s stdout until a line matches ``pattern`` (fails on exit or timeout)."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=1):
                continue
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if match := re.search(pattern, line):
                return match
    raise AssertionError(f"no line matched {pattern!r}; output:\n{''.join(seen)[-3000:]}")


def test_local_cluster_quick_look_starts_and_stops_on_the_embedded_server(tmp_path: Path) -> None:
    """``python -m deploy.local_cluster`` (docs/deploy.md) serves a healthy Airflow API, and
    Ctrl-C stops every process, the embedded server included."""
    data_dir = tmp_path / "cluster" / "postgres"
    proc = subprocess.Popen(
        [PYTHON, "-m", "deploy.local_cluster", "--executor", "LocalExecutor", "--no-triggerer"],
        cwd=PROJECT_ROOT, env=plain_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        up = _line_matching(proc, r"cluster up: (http://\S+) \(admin / ", timeout=300)
        health = requests.get(f"{up.group(1)}/api/v2/monitor/health", timeout=30).json()
        assert health["metadatabase"]["status"] == "healthy"
        assert health["scheduler"]["status"] == "healthy"
        assert (data_dir / "PG_VERSION").exists()  # the metadata DB is on the embedded server
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (data_dir / "postmaster.pid").exists(), "the embedded server is still running"


def test_make_airflow_module_help_describes_and_starts_nothing(tmp_path: Path) -> None:
    """``python -m sendgrid_demo.airflow_ui --help`` prints what it does and exits: no Airflow,
    no simulator, no warehouse (an unknown option is refused the same way)."""
    for args, code in ((["--help"], 0), (["--bogus"], 2)):
        out = subprocess.run(
            [PYTHON, "-m", "sendgrid_demo.airflow_ui", *args], cwd=PROJECT_ROOT,
            env=plain_env(tmp_path), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert out.returncode == code, out.stderr[-2000:]
        assert "usage: make airflow" in out.stdout + out.stderr
        assert ("SENDGRID_DEMO_UI_PORT" in out.stdout) == (code == 0)
    assert list(tmp_path.iterdir()) == []  # nothing was started or written
