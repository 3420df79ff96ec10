"""What a local cluster claims on shared servers: a metadata database and a Celery broker.

The broker is a Redis database number when Redis is at hand, else the metadata database itself
(kombu's SQLAlchemy transport: a machine with only Python and PostgreSQL runs the Celery
topology too). Both are named after the claiming process, so the next cluster drops what a
SIGKILLed one left.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from deploy.cluster_processes import DEFAULT_REDIS_URL, ClusterError, pid_alive, with_database

REDIS_LOCK_KEY = "sendgrid-local-cluster:lock"
DB_PREFIX = "airflow_cluster_"


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
    try:
        subprocess.run(
            [binary, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", port, "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        raise ClusterError(f"could not start {binary} on port {port}: {exc}") from None
    deadline = time.monotonic() + 15
    while not redis_answers(redis_url):
        if time.monotonic() > deadline:
            raise ClusterError(f"started redis-server on port {port} but it does not answer")
        time.sleep(0.2)


def redis_at_hand(redis_url: str = DEFAULT_REDIS_URL) -> bool:
    """True when Redis answers at ``redis_url``, or can be started there (:func:`ensure_redis`)."""
    local = urlsplit(redis_url).hostname in ("127.0.0.1", "localhost")
    return redis_answers(redis_url) or (local and shutil.which("redis-server") is not None)


#: ``ClusterConfig.broker`` values: Redis (as docker-compose.yaml), the metadata PostgreSQL
#: database (kombu's SQLAlchemy transport), or Redis when :func:`redis_at_hand` else PostgreSQL.
BROKERS = ("redis", "postgres", "auto")


class ClusterResources:
    """The metadata database and the Celery broker of a cluster (a mixin).

    Attributes:
        config: The cluster's configuration (``pg_url``, ``redis_url``, ``broker``).
        metadata_db: Name of the cluster's metadata database.
        broker: ``redis`` or ``postgres`` once claimed (CeleryExecutor only), else ``None``.
        redis_db: The claimed Redis database number, if any.
    """

    config: Any
    metadata_db: str
    broker: str | None
    redis_db: int | None
    _redis_token: str
    _db_created: bool

    @property
    def metadata_url(self) -> str:
        """SQLAlchemy URL of the cluster's metadata database."""
        return with_database(self.config.pg_url, self.metadata_db, driver="psycopg2")

    def _admin_sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(with_database(self.config.pg_url, None), autocommit=True) as conn:
            conn.execute(statement)

    def _create_metadata_db(self) -> None:
        self._drop_stale_databases()
        self._admin_sql(f'create database "{self.metadata_db}"')
        self._db_created = True

    def _drop_stale_databases(self) -> None:
        """Drop metadata DBs of clusters whose process is gone (killed with SIGKILL)."""
        import psycopg

        with psycopg.connect(with_database(self.config.pg_url, None), autocommit=True) as conn:
            names = [r[0] for r in conn.execute(
                "select datname from pg_database where datname like %s", [DB_PREFIX + "%"]
            )]  # fmt: skip
            for name in names:
                pid = name[len(DB_PREFIX) :].split("_", 1)[0]
                if pid.isdigit() and not pid_alive(int(pid)):
                    with contextlib.suppress(Exception):
                        conn.execute(f'drop database if exists "{name}" with (force)')

    def _claim_broker(self) -> None:
        """Choose the Celery broker (``config.broker``); claim a Redis database for Redis.

        ``auto`` takes Redis when it is at hand and a database can be claimed, else PostgreSQL.
        """
        if self.config.broker not in BROKERS:
            raise ClusterError(f"broker {self.config.broker!r}: not one of {', '.join(BROKERS)}")
        if self.config.broker == "auto" and redis_at_hand(self.config.redis_url):
            import redis

            try:
                self._claim_redis_db()
                self.broker = "redis"
                return
            except (ClusterError, redis.RedisError):  # not startable, or no free database
                pass
        self.broker = "postgres" if self.config.broker == "auto" else self.config.broker
        if self.broker == "redis":
            self._claim_redis_db()

    @property
    def broker_url(self) -> str:
        """Celery's ``broker_url`` (the PostgreSQL broker is the cluster's own database)."""
        if self.broker == "postgres":
            return f"sqla+{self.metadata_url}"
        return f"{self.config.redis_url.rstrip('/')}/{self.redis_db or 0}"

    def _create_broker_tables(self) -> None:
        """Create kombu's tables and the cluster's queue row once, before the workers start.

        kombu's SQLAlchemy transport creates a queue's row on first use, guarded by a lock of
        its own process only: two workers starting together can both insert it, and the loser
        exits on ``kombu_queue_name_key``.
        """
        if self.broker == "postgres":
            from kombu import Connection

            with Connection(self.broker_url) as conn:
                conn.default_channel.queue_declare(queue=self.queue)  # creates tables and row
                conn.default_channel.session.close()

    def _redis(self, db: int):
        import redis

        return redis.Redis.from_url(f"{self.config.redis_url.rstrip('/')}/{db}")

    @staticmethod
    def _flush_if_owned_by(r: Any, owner: str) -> None:
        """Empty the database if its lock key still names ``owner``.

        WATCH makes the check and the flush one step: a cluster that claimed the database
        meanwhile (a parallel test worker saw the same dead owner) keeps its data.
        """
        import redis

        with r.pipeline() as pipe:
            try:
                pipe.watch(REDIS_LOCK_KEY)
                if (pipe.get(REDIS_LOCK_KEY) or b"").decode() == owner:
                    pipe.multi()
                    pipe.flushdb()
                    pipe.execute()
            except redis.WatchError:
                pass

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
            if pid.isdigit() and not pid_alive(int(pid)):  # left by a killed cluster
                self._flush_if_owned_by(r, owner)
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
