"""Building blocks of the local cluster: its processes, ports, signals and database URLs.

The workers' task processes import :mod:`deploy.local_cluster` (``hostname_callable``), which
imports this module: its top level imports only the standard library.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
HOSTNAME_ENV = "SENDGRID_CLUSTER_HOSTNAME"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
COMPAT_DIR = Path(__file__).resolve().parent / "compat"


def celery_needs_compat_shim() -> bool:
    """True when the installed celery lacks what the celery provider imports (celery 5.7)."""
    try:
        import celery.backends.database as database
    except ImportError:
        return False
    return not hasattr(database, "retry")


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the local workers: the name given to this worker."""
    return os.environ.get(HOSTNAME_ENV) or socket.getfqdn()


class ClusterError(RuntimeError):
    """The cluster failed to start or a run did not finish; the message carries diagnostics."""


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally``/atexit cleanups run.

    Only when nobody else handles SIGTERM and we are in the main thread.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM for the duration of the block (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def set_pdeathsig() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class ManagedProcess:
    """One long-running Airflow process and its log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills the whole tree
                preexec_fn=set_pdeathsig,  # only sets the parent-death signal
            )
        finally:
            log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def with_database(url: str, dbname: str | None, driver: str | None = None) -> str:
    """``url`` with another database (``None``: keep) and optionally a SQLAlchemy driver."""
    parts = urlsplit(url)
    scheme = "postgresql" + (f"+{driver}" if driver else "")
    path = f"/{quote(dbname)}" if dbname else parts.path
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))
