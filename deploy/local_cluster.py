"""The production topology without containers: a real CeleryExecutor cluster on this machine.

(``ClusterConfig(executor="LocalExecutor")`` starts the same processes without a broker and
workers: the scheduler runs the tasks, as a single-machine deployment does.)

What ``docker-compose.yaml`` runs as containers, this module runs as processes of the current
virtualenv, against a PostgreSQL server (the command line starts an embedded one when none is
named) and the machine's Redis (without one, the broker is the metadata database: ``broker``):

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

The parts: processes and URLs in :mod:`deploy.cluster_processes`, the claimed databases in
:mod:`deploy.cluster_resources`, the REST API view in :mod:`deploy.cluster_api` (all re-exported
here). The workers' task processes import this module (``hostname_callable``): the top levels
of all four import only the standard library.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy.cluster_api import TERMINAL_RUN_STATES, ClusterApi
from deploy.cluster_processes import (
    COMPAT_DIR,
    DEFAULT_PG_URL,
    DEFAULT_REDIS_URL,
    HOSTNAME_ENV,
    REPO_ROOT,
    ClusterError,
    ManagedProcess,
    celery_needs_compat_shim,
    exit_on_sigterm,
    free_port,
    signals_deferred,
    worker_hostname,
)
from deploy.cluster_resources import (
    BROKERS,
    DB_PREFIX,
    REDIS_LOCK_KEY,
    REDIS_START_COMMAND,
    ClusterResources,
    ensure_redis,
    redis_answers,
    redis_at_hand,
)

# fmt: off
__all__ = [
    "BROKERS", "COMPAT_DIR", "DB_PREFIX", "DEFAULT_PG_URL", "DEFAULT_REDIS_URL", "HOSTNAME_ENV",
    "REDIS_LOCK_KEY", "REDIS_START_COMMAND", "REPO_ROOT", "TERMINAL_RUN_STATES", "ClusterConfig",
    "ClusterError", "LocalCluster", "ManagedProcess", "celery_needs_compat_shim", "ensure_redis",
    "free_port", "local_cluster", "main", "redis_answers", "redis_at_hand", "worker_hostname",
]
# fmt: on


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
        broker: Celery broker: ``redis`` (``redis_url``), ``postgres`` (kombu's SQLAlchemy
            transport on the metadata database: no server beyond PostgreSQL), or ``auto``
            (default, env ``CLUSTER_BROKER``): Redis when one answers or ``redis-server`` is
            installed, else PostgreSQL.
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
    broker: str = field(default_factory=lambda: os.environ.get("CLUSTER_BROKER", "auto"))
    pools: Mapping[str, int] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    home: Path | None = None
    keep_home: bool = False
    parallelism: int = 32
    api_workers: int = 1
    cron_schedules: bool = True
    setup: Callable[[LocalCluster, dict[str, str]], None] | None = None


class LocalCluster(ClusterResources, ClusterApi):
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
        self.broker: str | None = None
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
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
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
        exit_on_sigterm()
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        try:
            if self.celery:
                self._claim_broker()
            self._create_metadata_db()
            self._create_broker_tables()
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
        with signals_deferred():  # a second Ctrl-C/SIGTERM must not interrupt the cleanup
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
    parser.add_argument("--pg-url", default=os.environ.get("TEST_POSTGRES_URL"),
                        help="admin URL of the PostgreSQL server (default: TEST_POSTGRES_URL, "
                        "else an embedded server in .local/cluster/postgres)")  # fmt: skip
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--keep-home", action="store_true",
                        help="keep the temporary Airflow home (logs, airflow.cfg, the admin "
                        "password) after Ctrl-C, for diagnostics; deleted by default")  # fmt: skip
    parser.add_argument("--broker", default=os.environ.get("CLUSTER_BROKER", "auto"),
                        choices=BROKERS, help="Celery broker (auto: Redis when at hand, else "
                        "the metadata PostgreSQL database)")  # fmt: skip
    args = parser.parse_args(argv)
    from sendgrid_elt.embedded_postgres import named_or_embedded
    from sendgrid_elt.settings import API_POOL, LOCAL_DIR

    # Ctrl-C is how the cluster stops: it may come at any moment, even between the "cluster up"
    # line and the wait below (a script that reads that line and signals at once).
    with contextlib.suppress(KeyboardInterrupt), \
            named_or_embedded(args.pg_url, LOCAL_DIR / "cluster" / "postgres") as server, \
            local_cluster(ClusterConfig(
                pools={API_POOL: 8}, dags_folder=args.dags_folder, executor=args.executor,
                workers=args.workers, worker_concurrency=args.concurrency,
                triggerer=args.triggerer, pg_url=server.url(), redis_url=args.redis_url,
                broker=args.broker, keep_home=args.keep_home)) as cluster:  # fmt: skip
        print(f"cluster up: {cluster.api_url} (admin / {cluster.admin_password}), "
              f"home {cluster.home}; Ctrl-C stops it", flush=True)  # fmt: skip
        while True:
            time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
