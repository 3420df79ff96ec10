"""The embedded PostgreSQL server (the ``pgserver`` wheel) used when no server is configured."""

from __future__ import annotations

import atexit
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from sendgrid_elt.postgres_target import PostgresTarget

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

log = logging.getLogger(__name__)
# pgserver narrates every start and stop at INFO; keep its warnings only.
logging.getLogger("pgserver").setLevel(logging.WARNING)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir``; started on demand, shared by processes.

    pgserver runs the server as an unprivileged system user when we are root, listens on a Unix
    socket only (no port to collide with) and keeps it running while any handle is open.

    Args:
        data_dir: Folder of the cluster (created, with its parent, if missing).
        keep_running: Leave the server running when this process exits (reused next start).
    """

    def __init__(self, data_dir: Path, *, keep_running: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self.keep_running = keep_running
        self._server: PostgresServer | None = None

    def start(self) -> PostgresTarget:
        """Start (or attach to) the server and return the ``postgres`` database target."""
        import pgserver  # heavy import, only when the embedded server is really used

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(
            self.data_dir, cleanup_mode=None if self.keep_running else "stop"
        )
        return PostgresTarget.from_url(self._server.get_uri())

    def stop(self) -> None:
        """Release our handle; the server stops when no process holds one (unless kept running)."""
        if self._server is not None and not self.keep_running:
            self._server.cleanup()
            # pgserver also registered an exit hook; it would log to closed streams at exit.
            atexit.unregister(self._server._cleanup)
        self._server = None

    def __enter__(self) -> PostgresTarget:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_database(server: PostgresTarget, dbname: str) -> PostgresTarget:
    """Create ``dbname`` on ``server`` if it does not exist; return its target."""
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
            log.info("created database %s", dbname)
    return server.with_database(dbname)


@contextlib.contextmanager
def named_or_embedded(url: str | None, data_dir: Path) -> Iterator[PostgresTarget]:
    """The server at ``url``; without one, the embedded server in ``data_dir`` (stopped at the end).

    What a command that works from a plain shell does when no PostgreSQL server is named.
    """
    if url:
        yield PostgresTarget.from_url(url)
        return
    with EmbeddedPostgres(data_dir) as server:
        yield server
