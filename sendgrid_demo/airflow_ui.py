"""``make airflow``: the demo in the Airflow UI (``airflow standalone`` on the demo home).

Starts the warehouse, the simulator and the demo's mail sink like ``make demo``, registers the
demo tenants against this simulator (adding to, never replacing, the tenants a user added),
revokes the same tenant's key as the terminal demo does (so the UI tells the same story: one
tenant needs reconnecting, one lacks scopes), then runs ``airflow standalone`` until Ctrl-C.

Works from a plain shell: the virtualenv's ``bin`` goes first on ``PATH`` (``airflow standalone``
starts its components by running ``airflow``). The UI listens on 127.0.0.1 only (set
``AIRFLOW__API__HOST`` to change it). When the UI answers, the URL, user and password are
printed; alert e-mails land in ``.local/demo/mail/`` (one ``.eml`` file each).

Ctrl-C lets ``airflow standalone`` stop its components, then ends whatever of its process tree
is still running (the scheduler's LocalExecutor workers outlive a scheduler stopped from
outside, idle, for good). ``kill`` (SIGTERM) and a closed terminal (SIGHUP) stop it the same
way: the signal is passed on to ``airflow standalone`` as its Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import requests

from sendgrid_demo.airflow_home import (
    ADMIN_USER,
    DEMO_ALERT_RECIPIENTS,
    DEMO_DIR,
    admin_password,
    configure,
)

UI_PORT = int(os.environ.get("SENDGRID_DEMO_UI_PORT", "8080"))
MAILBOX = DEMO_DIR / "mail"


def ui_url(port: int = UI_PORT) -> str:
    """Where the demo's Airflow UI listens."""
    return f"http://localhost:{port}"


#: Where the API server listens unless ``AIRFLOW__API__HOST`` says otherwise: this machine only
#: (the demo's login is printed on the terminal and kept in a file; Airflow's default would be
#: every interface, 0.0.0.0).
UI_HOST = "127.0.0.1"
#: Task processes at once unless ``AIRFLOW__CORE__PARALLELISM`` says otherwise. LocalExecutor
#: forks all of them at start-up (Airflow's default, 32, is 32 idle processes on a laptop); the
#: demo's six tenants make at most six extract batches, and model tasks wait in the triggerer.
DEMO_PARALLELISM = 8


def standalone_environment(port: int = UI_PORT) -> dict[str, str]:
    """The environment of ``airflow standalone``: this venv first on PATH, the UI's port.

    The API server listens on the loopback interface unless the user set ``AIRFLOW__API__HOST``,
    and LocalExecutor forks :data:`DEMO_PARALLELISM` workers unless ``AIRFLOW__CORE__PARALLELISM``
    is set.
    """
    env = os.environ.copy()
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    env["AIRFLOW__API__PORT"] = str(port)
    env["AIRFLOW__API__BASE_URL"] = ui_url(port)
    if not env.get("AIRFLOW__API__HOST", "").strip():
        env["AIRFLOW__API__HOST"] = UI_HOST
    if not env.get("AIRFLOW__CORE__PARALLELISM", "").strip():
        env["AIRFLOW__CORE__PARALLELISM"] = str(DEMO_PARALLELISM)
    return env


def _announce_when_up(port: int, password: str, stop: threading.Event) -> None:
    """Print the login once the API server answers (``airflow standalone`` takes a while)."""
    while not stop.wait(2.0):
        try:
            requests.get(f"{ui_url(port)}/api/v2/monitor/health", timeout=2).raise_for_status()
        except requests.RequestException:
            continue
        print(
            f"\nAirflow UI: {ui_url(port)}  user: {ADMIN_USER}  password: {password}\n"
            f"Alert e-mails: {MAILBOX}/  Ctrl-C stops everything.",
            flush=True,
        )
        return


#: Seconds ``airflow standalone`` gets to stop its components after Ctrl-C.
STOP_GRACE_SECONDS = 30.0
#: Seconds each leftover process gets to end after SIGTERM, then after SIGKILL.
LEFTOVER_WAIT_SECONDS = 5.0


class ProcessTree:
    """The processes under one process, remembered while it runs (to end what it leaves)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.known: dict[int, psutil.Process] = {}

    def watch(self, stop: threading.Event, every: float = 2.0) -> None:
        """Refresh :attr:`known` every ``every`` seconds until ``stop`` is set."""
        while not stop.wait(every):
            self.refresh()

    def refresh(self) -> None:
        """Add the processes under :attr:`root` now (none once it ended: no reused pid)."""
        with contextlib.suppress(psutil.Error):
            for child in self.root.children(recursive=True):
                self.known.setdefault(child.pid, child)

    def end_leftovers(self, timeout: float = LEFTOVER_WAIT_SECONDS) -> int:
        """Terminate (then kill) every known process still running; return how many."""
        alive = [p for p in list(self.known.values()) if p.is_running()]  # the watcher may add
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        _, stubborn = psutil.wait_procs(alive, timeout=timeout)
        for process in stubborn:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(stubborn, timeout=timeout)
        return len(alive)


class Stopped(Exception):
    """SIGTERM or SIGHUP reached this process: stop everything as Ctrl-C does."""


def _raise_stopped(signum: int, _frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


def stop_on_signals() -> None:
    """Make SIGTERM and SIGHUP raise :class:`Stopped`.

    Their default ends Python at once, without the clean-up that stops ``airflow standalone``
    and the simulator.
    """
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stopped)


def run_standalone(command: list[str] | None = None) -> int:
    """Run ``airflow standalone`` until it ends or is stopped; end what it leaves running.

    Args:
        command: What to run instead of ``airflow standalone`` (the tests' stand-in).
    """
    stop = threading.Event()
    with subprocess.Popen(
        command or [sys.executable, "-m", "airflow", "standalone"], env=standalone_environment()
    ) as proc:
        tree = ProcessTree(proc.pid)
        threading.Thread(target=tree.watch, args=(stop,), daemon=True).start()
        try:
            code = proc.wait()
        except (KeyboardInterrupt, Stopped) as exc:
            tree.refresh()  # the tree as it is now, while standalone still runs
            if isinstance(exc, Stopped):  # unlike a terminal's Ctrl-C, it did not reach standalone
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGINT)
            longest = STOP_GRACE_SECONDS + 2 * LEFTOVER_WAIT_SECONDS
            with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) must not stop the stop
                print(f"Stopping Airflow (up to {longest:.0f} s)...", flush=True)
            try:
                proc.wait(timeout=STOP_GRACE_SECONDS)
            except (subprocess.TimeoutExpired, KeyboardInterrupt, Stopped):
                proc.kill()
            code = 0
        finally:
            stop.set()
            left = tree.end_leftovers()
        if left:
            print(f"Stopped {left} processes airflow standalone left running.", flush=True)
        return code


def main(argv: list[str] | None = None) -> int:
    """Serve the demo's Airflow; return the exit code of ``airflow standalone``."""
    import argparse

    paragraphs = (__doc__ or "").split("\n\n")
    epilog = f"{paragraphs[1]} The UI's port: SENDGRID_DEMO_UI_PORT (now {UI_PORT})."
    parser = argparse.ArgumentParser(prog="make airflow", description=paragraphs[0], epilog=epilog)
    parser.parse_args(argv)  # no options: --help describes and exits, anything else is refused
    stop_on_signals()
    configure()
    password = admin_password()
    from sendgrid_demo.main import current_clock
    from sendgrid_demo.simulator_process import SimulatorProcess
    from sendgrid_demo.smtp_sink import SMTP_CONN_ENV, SmtpSink
    from sendgrid_demo.tenants import assign_roles, register, revoke_showcase_keys
    from sendgrid_elt.settings import (
        AIRFLOW_API_CONN_ID,
        ALERT_RECIPIENTS_VARIABLE,
        CONNECT_BASE_URL_VARIABLE,
    )
    from sendgrid_elt.warehouse import resolve_warehouse

    resolve_warehouse()
    sink = SmtpSink(mailbox=MAILBOX).start()  # creates the mailbox folder it prints
    os.environ[SMTP_CONN_ENV] = sink.connection_json()
    # The extract DAG lists the tenants stored in the metadata DB through the REST API.
    os.environ[f"AIRFLOW_CONN_{AIRFLOW_API_CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "http", "host": ui_url(), "login": ADMIN_USER, "password": password}
    )
    os.environ[f"AIRFLOW_VAR_{CONNECT_BASE_URL_VARIABLE.upper()}"] = ui_url()
    os.environ[f"AIRFLOW_VAR_{ALERT_RECIPIENTS_VARIABLE.upper()}"] = DEMO_ALERT_RECIPIENTS
    stop = threading.Event()
    try:
        with SimulatorProcess(
            seed=42, scale="demo", clock=current_clock(), log_file=DEMO_DIR / "simulator.log"
        ) as sim:
            tenants = assign_roles(sim.control.accounts())
            register(tenants, sim.base_url)
            revoke_showcase_keys(sim, tenants)
            if sim.fallback:
                print(f"Note: {sim.fallback}.", flush=True)
            print(f"SendGrid simulator on {sim.base_url}; starting Airflow ...", flush=True)
            threading.Thread(
                target=_announce_when_up, args=(UI_PORT, password, stop), daemon=True
            ).start()
            return run_standalone()
    finally:
        stop.set()
        sink.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Stopped:  # before Airflow started: the simulator and mail sink are stopped already
        sys.exit(0)
