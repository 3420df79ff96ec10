"""The production topology without containers: a real CeleryExecutor cluster on this machine.

(``ClusterConfig(executor="LocalExecutor")`` starts the same processes without Redis and workers:
the scheduler runs the tasks, as a single-machine deployment does.)

What ``docker-compose.yaml`` runs as containers, this module runs as processes of the current
virtualenv, against the machine's PostgreSQL and Redis:

* a fresh **metadata database** on the PostgreSQL server (dropped on stop); the Celery result
  backend lives in it too (``db+postgresql``), like the compose file;
* a **dedicated Redis database number** (claimed with a lock key, flushed on stop) and a unique
  Celery queue name, so parallel clusters on one Redis never see each other's tasks;
* ``airflow scheduler``, ``airflow dag-processor``, ``airflow api-server`` (free port, the
  execution API URL points at it, one shared JWT secret), ``airflow triggerer`` (the transform
  DAG's model tasks run in it), and
  N ``airflow celery worker`` processes with distinct ``--celery-hostname`` values.

On one machine every process reports the same FQDN, so each worker also gets its own
``[core] hostname_callable`` (:func:`worker_hostname`): task instances then record which worker
ran them, as they would on separate hosts. Celery's own record of the executing worker
(``celery_taskmeta.worker``, ``result_extended``) is kept as an independent cross-check.

Every process runs in its own process group and is killed with its children on :meth:`stop`
(also registered with :mod:`atexit`, SIGTERM becomes ``SystemExit`` so ``finally`` blocks run,
signals are ignored while stopping, and each group leader is killed with its parent through
``PR_SET_PDEATHSIG``). Metadata databases and Redis locks left by a SIGKILLed cluster (whose
pid is gone) are dropped by the next cluster that starts. Usage::

    with LocalCluster(ClusterConfig(dags_folder=path, workers=2)) as cluster:
        cluster.wait_for_dags(["my_dag"])
        run_id = cluster.trigger("my_dag")
        cluster.wait_for_run("my_dag", run_id, timeout=300)

``python -m deploy.local_cluster --dags-folder dags`` starts one in the foreground.

This module is also imported by the workers' task processes (``hostname_callable``), so its
top level imports only the standard library.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
HOSTNAME_ENV = "SENDGRID_CLUSTER_HOSTNAME"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
REDIS_LOCK_KEY = "sendgrid-local-cluster:lock"
TERMINAL_RUN_STATES = ("success", "failed")
DB_PREFIX = "airflow_cluster_"
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


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally``/atexit cleanups run.

    Only when nobody else handles SIGTERM and we are in the main thread.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
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


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class ClusterConfig:
    """What to start and where.

    Attributes:
        dags_folder: The DAGs folder the dag-processor parses.
        executor: ``CeleryExecutor`` (the compose topology: Redis, workers) or ``LocalExecutor``
            (the scheduler runs the tasks itself, up to ``parallelism`` at once; no Redis, no
            workers).
        workers: Number of Celery workers (distinct hostnames ``worker1``, ``worker2``...).
        worker_concurrency: Task slots per worker.
        triggerer: Start ``airflow triggerer`` (the compose file runs one; the transform DAG's
            model tasks start and end in it).
        pg_url: Admin URL of the PostgreSQL server; a fresh metadata database is created on it.
        redis_url: Redis server (no database number: a free one is claimed).
        pools: Pools to create before starting (``name -> slots``).
        env: Extra environment for every process (connections, variables, config).
        home: Airflow home (default: a new temporary directory, removed on stop).
        keep_home: Keep ``home`` after stop (for diagnostics).
        parallelism: ``[core] parallelism`` (scheduler-wide running task cap).
        api_workers: Uvicorn workers of the API server.
        cron_schedules: ``[scheduler] use_job_schedule``. False stops the scheduler from
            creating *any* run itself: no cron runs, and no asset-triggered runs either (only
            REST/CLI-triggered runs happen).
        setup: Called with ``(cluster, env)`` after the migration, before any process starts
            (e.g. to register connections with the CLI while the machine is idle).
    """

    dags_folder: Path
    executor: str = "CeleryExecutor"
    workers: int = 2
    worker_concurrency: int = 2
    triggerer: bool = True
    pg_url: str = field(default_factory=lambda: os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG_URL))
    redis_url: str = field(
        default_factory=lambda: os.environ.get("CLUSTER_REDIS_URL", DEFAULT_REDIS_URL)
    )
    pools: Mapping[str, int] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    home: Path | None = None
    keep_home: bool = False
    parallelism: int = 32
    api_workers: int = 1
    cron_schedules: bool = True
    setup: Callable[[LocalCluster, dict[str, str]], None] | None = None


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
                preexec_fn=_set_pdeathsig,  # only sets the parent-death signal
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


class LocalCluster:
    """A CeleryExecutor Airflow cluster of local processes (see the module docstring)."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.cluster_id = uuid.uuid4().hex[:10]
        self.home = config.home or Path(tempfile.mkdtemp(prefix="sendgrid-cluster-"))
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_dir = self.home / "process-logs"
        self.log_dir.mkdir(exist_ok=True)
        self.metadata_db = f"{DB_PREFIX}{os.getpid()}_{self.cluster_id}"
        self.queue = f"sendgrid_{self.cluster_id}"
        self.redis_db: int | None = None
        self._redis_token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.admin_password = secrets.token_urlsafe(16)
        self.processes: list[ManagedProcess] = []
        self._db_created = False
        self._stopped = False
        self._token: str | None = None
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ configuration
    @property
    def celery(self) -> bool:
        """Whether Celery workers run the tasks (else the scheduler's LocalExecutor does)."""
        return self.config.executor == "CeleryExecutor"

    @property
    def metadata_url(self) -> str:
        return _with_database(self.config.pg_url, self.metadata_db, driver="psycopg2")

    def base_env(self) -> dict[str, str]:
        """The environment every process of the cluster shares (secrets generated per cluster)."""
        from cryptography.fernet import Fernet

        if not hasattr(self, "_fernet"):
            self._fernet = Fernet.generate_key().decode()
            self._jwt_secret = secrets.token_urlsafe(32)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
        }
        passwords = self.home / "passwords.json"
        passwords.write_text(json.dumps({"admin": self.admin_password}))
        redis_db = self.redis_db if self.redis_db is not None else 0
        pythonpath = [str(REPO_ROOT), env.get("PYTHONPATH", "")]
        if celery_needs_compat_shim():
            pythonpath.insert(0, str(COMPAT_DIR))
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "PYTHONPATH": os.pathsep.join(p for p in pythonpath if p),
                "PYTHONUNBUFFERED": "1",
                "AIRFLOW__CORE__EXECUTOR": self.config.executor,
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # The first parse of the transform DAG may run `dbt parse` (no manifest yet).
                "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
                "AIRFLOW__CORE__DAGS_FOLDER": str(Path(self.config.dags_folder).resolve()),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.home / "plugins"),
                "AIRFLOW__CORE__FERNET_KEY": self._fernet,
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__CORE__PARALLELISM": str(self.config.parallelism),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
                "AIRFLOW__CELERY__BROKER_URL": f"{self.config.redis_url.rstrip('/')}/{redis_db}",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.metadata_url}",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.config.worker_concurrency),
                "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": json.dumps({"result_extended": True}),
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.config.cron_schedules),
                # nothing phones home (as in deploy/airflow.env)
                "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DO_NOT_TRACK": "1",
                "SCARF_NO_ANALYTICS": "true",
            }
        )
        (self.home / "plugins").mkdir(exist_ok=True)
        env.update(self.config.env)
        return env

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180) -> LocalCluster:
        """Create the databases, migrate, create pools, start every process and wait for them."""
        atexit.register(self.stop)
        _exit_on_sigterm()
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        try:
            if self.celery:
                self._claim_redis_db()
            self._create_metadata_db()
            env = self.base_env()
            self.airflow("db", "migrate", env=env, timeout=max(30.0, deadline - time.monotonic()))
            for name, slots in self.config.pools.items():
                self.airflow("pools", "set", name, str(slots), f"{name} (local cluster)", env=env)
            if self.config.setup is not None:
                self.config.setup(self, env)
            self.timings["migrate"] = time.monotonic() - t0
            self._spawn("api-server", ["api-server", "--host", "127.0.0.1", "--port",
                                       str(self.api_port), "--workers",
                                       str(self.config.api_workers)], env)  # fmt: skip
            self._spawn("scheduler", ["scheduler"], env)
            self._spawn("dag-processor", ["dag-processor"], env)
            if self.config.triggerer:
                self._spawn("triggerer", ["triggerer"], env)
            for i in range(1, self.config.workers + 1 if self.celery else 1):
                name = f"worker{i}"
                wenv = dict(env)
                wenv[HOSTNAME_ENV] = name
                wenv["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "deploy.local_cluster.worker_hostname"
                wenv["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
                self._spawn(name, ["celery", "worker", "--celery-hostname", f"{name}@%h",
                                   "--queues", self.queue, "--concurrency",
                                   str(self.config.worker_concurrency)], wenv)  # fmt: skip
            self._wait_api(deadline)
            self._wait_workers(deadline)
            self.timings["start"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process group (TERM, then KILL), drop the database, free the Redis DB."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        with _signals_deferred():  # a second Ctrl-C/SIGTERM must not interrupt the cleanup
            self._stop()

    def _stop(self) -> None:
        for proc in self.processes:
            proc.signal_group(signal.SIGTERM)
        end = time.monotonic() + 15  # Celery's warm shutdown waits for running tasks: not longer
        for proc in self.processes:
            if proc.popen is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, end - time.monotonic()))
        for proc in self.processes:  # stragglers and orphaned children of the group
            proc.signal_group(signal.SIGKILL)
            if proc.popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.popen.wait(timeout=5)
        if self._db_created:
            with contextlib.suppress(Exception):
                self._admin_sql(f'drop database if exists "{self.metadata_db}" with (force)')
        self._release_redis_db()
        if not self.config.keep_home and self.config.home is None:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers
    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> ManagedProcess:
        proc = ManagedProcess(
            name=name,
            argv=[sys.executable, "-m", "airflow", *args],
            log_path=self.log_dir / f"{name}.log",
            env=env,
        )
        proc.start()
        self.processes.append(proc)
        return proc

    def airflow(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """Run an ``airflow`` CLI command against the cluster; raise with its output on error."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=env or self.base_env(),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def _admin_sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(_with_database(self.config.pg_url, None), autocommit=True) as conn:
            conn.execute(statement)

    def _create_metadata_db(self) -> None:
        self._drop_stale_databases()
        self._admin_sql(f'create database "{self.metadata_db}"')
        self._db_created = True

    def _drop_stale_databases(self) -> None:
        """Drop metadata DBs of clusters whose process is gone (killed with SIGKILL)."""
        import psycopg

        with psycopg.connect(_with_database(self.config.pg_url, None), autocommit=True) as conn:
            names = [r[0] for r in conn.execute(
                "select datname from pg_database where datname like %s", [DB_PREFIX + "%"]
            )]  # fmt: skip
            for name in names:
                pid = name[len(DB_PREFIX) :].split("_", 1)[0]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    with contextlib.suppress(Exception):
                        conn.execute(f'drop database if exists "{name}" with (force)')

    def _redis(self, db: int):
        import redis

        return redis.Redis.from_url(f"{self.config.redis_url.rstrip('/')}/{db}")

    def _claim_redis_db(self) -> None:
        """Claim a Redis database number nobody else uses (lock key with a 6 h expiry)."""
        ensure_redis(self.config.redis_url)
        client = self._redis(0)
        try:
            count = int(client.config_get("databases").get("databases", 16))
        except Exception:
            count = 16
        for db in range(1, count):
            r = self._redis(db)
            owner = (r.get(REDIS_LOCK_KEY) or b"").decode()
            pid = owner.split(":", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):  # left by a killed cluster
                r.flushdb()
            if r.dbsize() == 0 and r.set(REDIS_LOCK_KEY, self._redis_token, nx=True, ex=6 * 3600):
                self.redis_db = db
                return
        raise ClusterError(f"no free Redis database on {self.config.redis_url} (all {count} used)")

    def _release_redis_db(self) -> None:
        if self.redis_db is None:
            return
        with contextlib.suppress(Exception):
            r = self._redis(self.redis_db)
            if r.get(REDIS_LOCK_KEY) == self._redis_token.encode():
                r.flushdb()
        self.redis_db = None

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

    # ------------------------------------------------------------------ API
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

        url = _with_database(self.config.pg_url, self.metadata_db)
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
        parts = [f"cluster {self.cluster_id}: home {self.home}, api {self.api_url}, "
                 f"redis db {self.redis_db}, queue {self.queue}"]  # fmt: skip
        for proc in self.processes:
            state = "running" if proc.alive() else f"exited {proc.popen and proc.popen.returncode}"
            parts.append(f"===== {proc.name} ({state}) {proc.log_path}\n{proc.tail(lines)}")
        with contextlib.suppress(Exception):
            parts.append(self.task_log_tail())
        return "\n".join(parts)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _with_database(url: str, dbname: str | None, driver: str | None = None) -> str:
    """``url`` with another database (``None``: keep) and optionally a SQLAlchemy driver."""
    parts = urlsplit(url)
    scheme = "postgresql" + (f"+{driver}" if driver else "")
    path = f"/{quote(dbname)}" if dbname else parts.path
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def redis_answers(redis_url: str = DEFAULT_REDIS_URL) -> bool:
    """True when a Redis server answers PING at ``redis_url``."""
    import redis

    try:
        return bool(redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


REDIS_START_COMMAND = (
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def ensure_redis(redis_url: str = DEFAULT_REDIS_URL) -> None:
    """Start the machine's Redis (like ``.ci/run`` should) when it does not answer locally."""
    if redis_answers(redis_url):
        return
    parts = urlsplit(redis_url)
    binary = shutil.which("redis-server")
    if parts.hostname not in ("127.0.0.1", "localhost") or binary is None:
        raise ClusterError(
            f"no Redis answers at {redis_url}; start one, e.g. `{REDIS_START_COMMAND}`"
        )
    port = str(parts.port or 6379)
    workdir = Path(tempfile.gettempdir()) / f"sendgrid-redis-{port}"
    workdir.mkdir(exist_ok=True)
    subprocess.run(
        [binary, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", port, "--save", "",
         "--appendonly", "no", "--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not redis_answers(redis_url):
        if time.monotonic() > deadline:
            raise ClusterError(f"started redis-server on port {port} but it does not answer")
        time.sleep(0.2)


@contextlib.contextmanager
def local_cluster(config: ClusterConfig, timeout: float = 180) -> Iterator[LocalCluster]:
    """Context manager form of :class:`LocalCluster`."""
    cluster = LocalCluster(config)
    cluster.start(timeout)
    try:
        yield cluster
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    """Start a cluster in the foreground until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m deploy.local_cluster", description=__doc__)
    parser.add_argument("--dags-folder", type=Path, default=REPO_ROOT / "dags")
    parser.add_argument("--executor", default="CeleryExecutor",
                        choices=["CeleryExecutor", "LocalExecutor"])  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--no-triggerer", dest="triggerer", action="store_false")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG_URL))
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    args = parser.parse_args(argv)
    from sendgrid_elt.settings import API_POOL

    config = ClusterConfig(
        pools={API_POOL: 8},
        dags_folder=args.dags_folder,
        executor=args.executor,
        workers=args.workers,
        worker_concurrency=args.concurrency,
        triggerer=args.triggerer,
        pg_url=args.pg_url,
        redis_url=args.redis_url,
        keep_home=True,
    )
    with local_cluster(config) as cluster:
        print(f"cluster up: {cluster.api_url} (admin / {cluster.admin_password}), "
              f"home {cluster.home}; Ctrl-C stops it", flush=True)  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
