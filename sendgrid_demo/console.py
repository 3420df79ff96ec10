"""The demo's terminal: our progress lines on screen, Airflow's own output in a log file."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

_terminal: TextIO | None = None


def say(text: str = "") -> None:
    """Print a line on the terminal (flushed: forked dbt processes must not re-emit a buffer)."""
    print(text, file=_terminal or sys.stdout, flush=True)


@contextlib.contextmanager
def airflow_output_to(path: Path) -> Iterator[None]:
    """Send whatever is written to file descriptors 1 and 2 (Airflow, Cosmos, dbt) to ``path``.

    :func:`say` keeps writing to the real terminal through a duplicate of the original stdout.
    """
    global _terminal
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    _terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            _terminal.close()
            _terminal = None


def run_logged(job: Callable[[], int], log_file: Path, what: str) -> int:
    """Run ``job`` with Airflow's output in ``log_file``; a crash prints its traceback here.

    Returns:
        The job's exit code, or 1 when it raised.
    """
    try:
        with airflow_output_to(log_file):
            return job()
    except Exception:
        say(traceback.format_exc())
        say(f"{what} failed; Airflow's log is in {log_file}")
        return 1
