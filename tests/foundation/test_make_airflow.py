"""``make airflow`` from a plain shell, as a new user runs it right after ``git clone``.

No activated virtualenv (PATH holds only the system's directories), nothing configured but a
warehouse. The UI must come up, print a login that works, import both DAGs without errors, and
a ``sendgrid`` connection added through the REST API (what Admin → Connections does) must be
extracted by the next run of the extract DAG, found without any other step.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from sendgrid_elt.postgres_target import PostgresTarget
from sendgrid_elt.settings import EXTRACT_DAG_ID, PROJECT_ROOT, STAGING_SCHEMA, TRANSFORM_DAG_ID
from sendgrid_elt.tenants import list_connection_ids
from sendgrid_simulator.testing import free_socket

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
LOGIN = re.compile(r"Airflow UI: (\S+)\s+user: (\S+)\s+password: (\S+)")
SIMULATOR = re.compile(r"SendGrid simulator on (\S+);")
NEW_TENANT = "sendgrid_added_in_the_ui"


def _free_port() -> int:
    with free_socket() as sock:
        return int(sock.getsockname()[1])


class _Lines:
    """The process's output, line by line, readable with a deadline."""

    def __init__(self, proc: subprocess.Popen[str], log: Path) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.log = log

        def pump() -> None:
            with log.open("w") as fh:
                for line in proc.stdout or ():
                    fh.write(line)
                    fh.flush()
                    self.queue.put(line)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=1)
            except queue.Empty:
                continue
            match = pattern.search(line)
            if match:
                return match
        raise AssertionError(f"no {pattern.pattern!r} in time; output: {self.log}")


@pytest.fixture
def make_airflow(pg_database: PostgresTarget, tmp_path: Path) -> Iterator[tuple[_Lines, Any]]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # a plain shell: the venv is not activated
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "SENDGRID_LOCAL_DIR": str(tmp_path / "local"),
        "SENDGRID_DEMO_UI_PORT": str(_free_port()),
        "AIRFLOW_CONN_SENDGRID_WAREHOUSE": pg_database.airflow_connection_json(),
    }
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "airflow"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield _Lines(proc, tmp_path / "make-airflow.log"), pg_database
    finally:
        tree = _descendants(proc.pid)  # before the stop orphans them
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        left = _kill_leftovers(env["SENDGRID_LOCAL_DIR"], tree)
        assert not left, f"make airflow left processes running after Ctrl-C: {left}"


def _descendants(pid: int) -> list[Any]:
    """Every process under ``pid`` now (psutil processes: a reused pid is not mistaken)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).children(recursive=True)
    return []


def _kill_leftovers(local_dir: str, tree: list[Any]) -> list[str]:
    """End what ``make airflow`` left running after Ctrl-C; return their command lines.

    Two ways find them: they were in the process tree before the stop (the LocalExecutor's
    workers: ``setproctitle`` overwrites their environment, so it no longer names the demo's
    directory), or their environment names this test's ``SENDGRID_LOCAL_DIR``.
    """
    import psutil

    mine = {process.pid: process for process in tree if process.is_running()}
    for process in psutil.process_iter():
        try:
            if process.environ().get("SENDGRID_LOCAL_DIR") == local_dir:
                mine[process.pid] = process
        except (psutil.Error, OSError):
            continue
    names = []
    for process in mine.values():
        with contextlib.suppress(psutil.Error):
            names.append(" ".join(process.cmdline())[:80])
            process.kill()
    psutil.wait_procs(list(mine.values()), timeout=10)
    return names


def _poll(fn: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = fn()
        except requests.Timeout:  # a busy API server: ask again
            value = None
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def test_make_airflow_from_a_plain_shell(make_airflow: tuple[_Lines, Any]) -> None:
    lines, warehouse = make_airflow
    sim_url = lines.wait_for(SIMULATOR, timeout=240).group(1)
    url, user, password = lines.wait_for(LOGIN, timeout=600).groups()

    # the printed login works
    token = requests.post(
        f"{url}/auth/token", json={"username": user, "password": password}, timeout=60
    )
    assert token.status_code in (200, 201), token.text
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    # both DAGs are parsed, without import errors
    def dags() -> set[str]:
        body = api.get(f"{url}/api/v2/dags", timeout=60).json()
        return {d["dag_id"] for d in body.get("dags", [])} >= {EXTRACT_DAG_ID, TRANSFORM_DAG_ID}

    _poll(dags, 180, "both DAGs")
    errors = api.get(f"{url}/api/v2/importErrors", timeout=60).json()
    assert errors["total_entries"] == 0, errors

    # a sendgrid connection added through the REST API (the form posts the same) ...
    accounts = requests.get(f"{sim_url}/__sim/accounts", timeout=60).json()
    key = accounts["tenants"][-1]["api_keys"]["full"]
    created = api.post(
        f"{url}/api/v2/connections",
        json={
            "connection_id": NEW_TENANT,
            "conn_type": "sendgrid",
            "host": sim_url,
            "password": key,
            "extra": json.dumps({"display_name": "Added in the UI"}),
        },
        timeout=60,
    )
    assert created.status_code == 201, created.text
    # ... is listed by the discovery the extract DAG runs (REST API, printed credentials) ...
    assert NEW_TENANT in list_connection_ids(url, user, password)

    # ... and extracted by the next run, with no other step
    api.patch(f"{url}/api/v2/dags/{EXTRACT_DAG_ID}", json={"is_paused": False}, timeout=60)
    run = api.post(
        f"{url}/api/v2/dags/{EXTRACT_DAG_ID}/dagRuns",
        json={"logical_date": None, "conf": {"streams": ["user_account"]}},
        timeout=60,
    )
    assert run.status_code == 200, run.text
    run_id = run.json()["dag_run_id"]

    def finished() -> str | None:
        state = api.get(f"{url}/api/v2/dags/{EXTRACT_DAG_ID}/dagRuns/{run_id}", timeout=60)
        return state.json()["state"] if state.json()["state"] in ("success", "failed") else None

    _poll(finished, 600, "the extract run")
    # its task logs, as the UI shows them, tell each stream's progress at INFO
    tis = api.get(
        f"{url}/api/v2/dags/{EXTRACT_DAG_ID}/dagRuns/{run_id}/taskInstances", timeout=60
    ).json()["task_instances"]
    events = []
    for ti in [t for t in tis if t["task_id"] == "extract_load"]:
        logs = api.get(
            f"{url}/api/v2/dags/{EXTRACT_DAG_ID}/dagRuns/{run_id}/taskInstances/extract_load"
            f"/logs/{ti['try_number']}",
            params={"map_index": ti["map_index"]},
            headers={"Accept": "application/json"},
            timeout=60,
        )
        assert logs.status_code == 200, logs.text
        events += [line.get("event", "") for line in logs.json()["content"]]
    assert any(re.search(r"stream user_account done: pages=\d+ records=1 ", e) for e in events)
    # the batch log names each of its tenants with its outcome
    assert any(e.startswith(f"tenant {NEW_TENANT}: ok in ") for e in events), events
    with psycopg.connect(warehouse.conninfo()) as conn:
        rows = conn.execute(
            f'select count(*) from "{STAGING_SCHEMA}".user_account where tenant_id = %s',  # noqa: S608
            (NEW_TENANT,),
        ).fetchone()
    assert rows == (1,)

    # the same story as the terminal demo: the revoked tenant needs reconnecting, and the
    # alert e-mail reached the demo's mail sink, where it can be read
    with psycopg.connect(warehouse.conninfo()) as conn:
        statuses = dict(
            conn.execute(
                f'select tenant_id, status from "{STAGING_SCHEMA}".connection_health'  # noqa: S608
            ).fetchall()
        )
    assert statuses[NEW_TENANT] == "connected"
    assert "needs_reconnect" in statuses.values()
    mailbox = lines.log.parent / "local" / "demo" / "mail"
    subjects = [p.read_text(errors="replace") for p in sorted(mailbox.glob("*.eml"))]
    assert any("needs to be reconnected" in text for text in subjects), subjects
