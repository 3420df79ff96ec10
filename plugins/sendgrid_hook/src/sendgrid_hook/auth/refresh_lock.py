"""Serialize OAuth refreshes of one connection across threads, processes and machines.

Refresh tokens are single-use (rotating): two tasks refreshing with the same token at the same
time would make the second one fail with ``invalid_grant``. The refresh therefore runs under a
PostgreSQL **session advisory lock** taken on the warehouse database (connection
``sendgrid_warehouse`` by default), which every worker can reach. The lock key is derived from
the connection id. When no lock database is configured the lock degrades to a process-local
lock and says so in the log; when its connection cannot be read (an execution-API error is
not "no connection": :func:`sendgrid_hook.airflow_reads.read_connection`), no refresh is tried.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sendgrid_hook.airflow_reads import UnreadableError, read_connection
from sendgrid_hook.constants import WAREHOUSE_CONN_ID
from sendgrid_hook.errors import SendGridRetriableError
from sendgrid_hook.libpq import client_params, libpq_params

log = logging.getLogger(__name__)

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def advisory_key(name: str) -> int:
    """Signed 64-bit advisory-lock key for ``name`` (stable across processes)."""
    digest = hashlib.sha256(f"sendgrid_oauth_refresh:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def local_lock(name: str) -> Iterator[None]:
    """Process-local lock per ``name`` (fallback and same-process fast path)."""
    with _local_guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    with lock:
        yield


class PostgresAdvisoryLock:
    """Advisory lock on the database of an Airflow ``postgres`` connection.

    Args:
        lock_conn_id: Airflow connection of the database holding the lock.
        timeout: Seconds to wait for the lock before failing (``lock_timeout``).
    """

    def __init__(self, lock_conn_id: str = WAREHOUSE_CONN_ID, timeout: float = 60.0) -> None:
        self.lock_conn_id = lock_conn_id
        self.timeout = timeout

    def _conninfo(self) -> dict[str, object] | None:
        """The lock database's libpq parameters; ``None`` when no such connection exists.

        Raises:
            SendGridRetriableError: The connection could not be read (an execution-API or
                secrets-backend error): refreshing under a process-local lock only would let
                another worker spend the same single-use refresh token, so none is attempted.
        """
        from airflow.exceptions import AirflowNotFoundException

        try:
            conn = read_connection(self.lock_conn_id)
        except AirflowNotFoundException:
            return None
        except UnreadableError as exc:
            raise SendGridRetriableError(
                f"{exc}: the OAuth refresh is not attempted without its cross-worker lock; "
                "retry later"
            ) from None
        info: dict[str, object] = {
            "host": conn.host or "localhost",
            "port": conn.port or 5432,
            "user": conn.login or "postgres",
            "dbname": conn.schema or "postgres",
            "connect_timeout": 10,
        }
        if conn.password:
            info["password"] = conn.password
        # the connection's TLS settings (sslmode=verify-full, client certificates) and
        # keepalives, as every other client of the warehouse uses them
        info.update(client_params(str(info["host"]), dict(libpq_params(conn.extra_dejson))))
        return info

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold the lock for ``name`` for the duration of the ``with`` block."""
        info = self._conninfo()
        with local_lock(name):
            if info is None:
                log.warning(
                    "no '%s' connection: OAuth refresh of %s is serialized in this process only",
                    self.lock_conn_id,
                    name,
                )
                yield
                return
            yield from _hold_pg(info, advisory_key(name), self.timeout)


def _hold_pg(info: dict[str, object], key: int, timeout: float) -> Iterator[None]:
    import psycopg

    with psycopg.connect(autocommit=True, **info) as conn:  # type: ignore[arg-type]
        conn.execute(f"set lock_timeout = '{int(timeout * 1000)}ms'")
        conn.execute("select pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (key,))
