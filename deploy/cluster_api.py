"""The REST API and metadata-database view of a running local cluster: runs, tasks, logs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from deploy.cluster_processes import ClusterError, ManagedProcess, with_database

TERMINAL_RUN_STATES = ("success", "failed")


class ClusterApi:
    """Triggering and watching DAG runs of a started cluster (a mixin of the cluster).

    Attributes:
        config: The cluster's configuration (``pg_url``).
        api_url: Base URL of the cluster's API server.
        admin_password: Password of the ``admin`` user.
        home: The cluster's Airflow home (task logs).
        processes: The cluster's processes (for diagnostics).
    """

    config: Any
    cluster_id: str
    api_url: str
    admin_password: str
    home: Path
    metadata_db: str
    queue: str
    broker: str | None
    redis_db: int | None
    processes: list[ManagedProcess]
    _token: str | None

    @property
    def celery(self) -> bool:
        """Whether Celery workers run the tasks (else the scheduler's LocalExecutor does)."""
        return self.config.executor == "CeleryExecutor"

    def _check_alive(self) -> None:
        dead = [p for p in self.processes if not p.alive()]
        if dead:
            names = ", ".join(f"{p.name} (exit {p.popen.returncode})" for p in dead if p.popen)
            raise ClusterError(f"process exited: {names}\n{self.diagnostics()}")

    def _wait_api(self, deadline: float) -> None:
        import requests

        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(requests.RequestException):
                r = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5)
                if r.ok:
                    return
            time.sleep(1)
        raise ClusterError(f"the API server did not answer in time\n{self.diagnostics()}")

    def _wait_workers(self, deadline: float) -> None:
        """Wait until every worker logged that it is ready (Celery prints ``<name> ready.``)."""
        workers = [p for p in self.processes if p.name.startswith("worker")]
        while time.monotonic() < deadline:
            self._check_alive()
            if all(" ready." in p.log_path.read_text(errors="replace") for p in workers):
                return
            time.sleep(1)
        raise ClusterError(f"the Celery workers did not become ready\n{self.diagnostics()}")

    def token(self) -> str:
        """A JWT for the REST API (simple auth manager, the generated admin password)."""
        import requests

        if self._token is None:
            r = requests.post(
                f"{self.api_url}/auth/token",
                json={"username": "admin", "password": self.admin_password},
                timeout=30,
            )
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the public REST API (``/api/v2`` + ``path``) and return the JSON body."""
        import requests

        headers = {"Authorization": f"Bearer {self.token()}"}
        r = requests.request(
            method, f"{self.api_url}/api/v2{path}", headers=headers, timeout=60, **kwargs
        )
        if not r.ok:
            raise ClusterError(f"{method} {path}: HTTP {r.status_code} {r.text[:2000]}")
        return r.json() if r.content else None

    def health(self) -> dict:
        """``/api/v2/monitor/health`` (metadatabase, scheduler, dag processor, triggerer)."""
        import requests

        return requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=10).json()

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 120) -> None:
        """Wait until the dag-processor has serialized every DAG, then unpause them."""
        wanted = set(dag_ids)
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            found = {r[0] for r in self.query("select dag_id from serialized_dag")}
            if wanted <= found:
                break
            if time.monotonic() > deadline:
                errors = self.query("select filename, stacktrace from import_error")
                raise ClusterError(
                    f"DAGs not parsed in {timeout:.0f}s: missing {sorted(wanted - found)}; "
                    f"import errors: {errors}\n{self.diagnostics()}"
                )
            time.sleep(1)
        for dag_id in wanted:
            self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, logical_date: str | None = None
    ) -> str:
        """Create a DAG run through the REST API (the scheduler runs it); return its run id."""
        body = {"logical_date": logical_date, "conf": dict(conf or {})}
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 300, fail_fast: bool = True
    ) -> str:
        """Wait for a run to reach ``success``/``failed``; return the state (raise on timeout)."""
        return self.wait_for_runs([(dag_id, run_id)], timeout, fail_fast)[(dag_id, run_id)]

    def wait_for_runs(
        self, runs: Iterable[tuple[str, str]], timeout: float = 300, fail_fast: bool = True
    ) -> dict[tuple[str, str], str]:
        """Wait for several runs; return ``{(dag_id, run_id): state}``.

        With ``fail_fast`` a run counts as ``failed`` as soon as one of its task instances is
        ``failed`` (no retry left), without waiting for its other branches.
        """
        pending = set(runs)
        states: dict[tuple[str, str], str] = {}
        deadline = time.monotonic() + timeout
        while pending:
            self._check_alive()
            rows = self.query("select dag_id, run_id, state from dag_run")
            if fail_fast:
                rows += self.query(
                    "select distinct dag_id, run_id, 'failed' from task_instance"
                    " where state = 'failed'"
                )
            for dag_id, run_id, state in rows:
                if (dag_id, run_id) in pending and state in TERMINAL_RUN_STATES:
                    states[(dag_id, run_id)] = state
                    pending.discard((dag_id, run_id))
            if not pending:
                break
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"runs not finished after {timeout:.0f}s: {sorted(pending)}\n"
                    f"{self.task_summary()}\n{self.diagnostics()}"
                )
            time.sleep(1)
        return states

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        """Run a read query on the metadata database."""
        import psycopg

        url = with_database(self.config.pg_url, self.metadata_db)
        with psycopg.connect(url, autocommit=True) as conn:
            return list(conn.execute(sql, tuple(params)).fetchall())

    def task_instances(self, dag_id: str | None = None) -> list[dict[str, Any]]:
        """Task instances with state, hostname and the Celery worker that ran them."""
        columns = (
            "select ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.state, ti.hostname,"
            " ti.queue, ti.start_date, ti.end_date,"
        )
        if self.celery:
            sql = columns + (
                " m.worker from task_instance ti"
                " left join celery_taskmeta m on m.task_id = ti.external_executor_id"
            )
        else:
            sql = columns + " null from task_instance ti"
        if dag_id:
            sql += " where ti.dag_id = %s"
        rows = self.query(sql, [dag_id] if dag_id else [])
        keys = ("dag_id", "run_id", "task_id", "map_index", "state", "hostname", "queue",
                "start_date", "end_date", "celery_worker")  # fmt: skip
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def task_summary(self) -> str:
        """One line per non-successful task instance (for failure messages)."""
        lines = [
            f"  {t['dag_id']}/{t['task_id']}[{t['map_index']}] {t['state']} on {t['hostname']}"
            for t in self.task_instances()
            if t["state"] != "success"
        ]
        return "task instances not successful:\n" + ("\n".join(lines) or "  (none)")

    def task_log_tail(self, lines: int = 30, limit: int = 5) -> str:
        """Tails of the most recent task logs that mention an error."""
        logs = sorted((self.home / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime)
        out = []
        for path in reversed(logs):
            text = path.read_text(errors="replace")
            if "error" in text.lower():
                tail = "\n".join(text.splitlines()[-lines:])
                out.append(f"--- task log {path.relative_to(self.home)}\n{tail}")
            if len(out) >= limit:
                break
        return "\n".join(out)

    def diagnostics(self, lines: int = 40) -> str:
        """Tail of every process log, and of failing task logs."""
        parts = [f"cluster {self.cluster_id}: home {self.home}, api {self.api_url}, broker "
                 f"{self.broker} (Redis db {self.redis_db}), queue {self.queue}"]  # fmt: skip
        for proc in self.processes:
            state = "running" if proc.alive() else f"exited {proc.popen and proc.popen.returncode}"
            parts.append(f"===== {proc.name} ({state}) {proc.log_path}\n{proc.tail(lines)}")
        with contextlib.suppress(Exception):
            parts.append(self.task_log_tail())
        return "\n".join(parts)
