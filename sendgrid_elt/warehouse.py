"""Decide where the pipeline writes: the ``sendgrid_warehouse`` connection, or the embedded server.

This module is the one place that makes the decision.

* **Tasks** call :func:`require_target` once per task: the Airflow connection
  ``sendgrid_warehouse`` (postgres; ``AIRFLOW_CONN_SENDGRID_WAREHOUSE``, a secrets backend or the
  metadata database), or a clear :class:`WarehouseNotConfigured` error. A task never starts a
  database server on a worker.
* **Local entry points** (``make demo``, ``make run``, ``make airflow``, the dashboard CLI, the
  tests) call :func:`resolve_warehouse`: the connection when configured, otherwise the project's
  embedded PostgreSQL under ``.local/warehouse`` (git-ignored), whose connection is then exported
  for the Airflow processes they start.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sendgrid_elt.embedded_postgres import EmbeddedPostgres, ensure_database
from sendgrid_elt.postgres_target import PostgresTarget, libpq_params
from sendgrid_elt.settings import LOCAL_DIR, WAREHOUSE_CONN_ENV, WAREHOUSE_CONN_ID

log = logging.getLogger(__name__)

EMBEDDED_DATA_DIR = LOCAL_DIR / "warehouse" / "pgdata"
EMBEDDED_DATABASE = "sendgrid"


@dataclass(frozen=True)
class Warehouse:
    """The warehouse the pipeline uses and where it came from."""

    target: PostgresTarget
    source: Literal["connection", "embedded"]
    data_dir: Path | None = None  # the embedded server's data directory

    def describe(self) -> str:
        """One line for humans (no password)."""
        origin = (
            f"Airflow connection '{WAREHOUSE_CONN_ID}'"
            if self.source == "connection"
            else f"embedded PostgreSQL in {(self.data_dir or EMBEDDED_DATA_DIR).parent}"
        )
        return f"warehouse: {self.target.describe()} ({origin})"


class WarehouseNotConfigured(RuntimeError):
    """The ``sendgrid_warehouse`` connection is missing where a task needs it."""

    def __init__(self) -> None:
        super().__init__(
            f"The Airflow connection {WAREHOUSE_CONN_ID!r} (type postgres) is not configured. "
            "Define it in Admin -> Connections, with `airflow connections add`, a secrets backend "
            f"or {WAREHOUSE_CONN_ENV} (README: 'Where data goes'). Tasks never start the embedded "
            "PostgreSQL: only `make demo`, `make run` and `make airflow` do, for local use."
        )


def require_target() -> PostgresTarget:
    """The configured warehouse, for a task.

    Raises:
        WarehouseNotConfigured: No ``sendgrid_warehouse`` connection is defined.
    """
    target = configured_target()
    if target is None:
        raise WarehouseNotConfigured
    return target


def configured_target() -> PostgresTarget | None:
    """Return the ``sendgrid_warehouse`` connection's target if one is configured, else None.

    Raises:
        UnreadableError: The connection could not be read (an execution-API or secrets-backend
            error), which is not "not configured" (:mod:`sendgrid_hook.airflow_reads`).
    """
    from airflow.exceptions import AirflowNotFoundException
    from sendgrid_hook.airflow_reads import UnreadableError, read_connection

    try:
        conn = read_connection(WAREHOUSE_CONN_ID)
    except AirflowNotFoundException:
        return None
    except UnreadableError:
        raise
    except Exception as exc:  # no metadata DB yet, no API server: treat as not configured
        log.debug("could not look up %s: %s", WAREHOUSE_CONN_ID, type(exc).__name__)
        if WAREHOUSE_CONN_ENV not in os.environ:
            return None
        raise
    return PostgresTarget(
        host=conn.host or "localhost",
        port=conn.port or 5432,
        user=conn.login or "postgres",
        password=conn.password or "",
        dbname=conn.schema or "postgres",
        params=libpq_params(conn.extra_dejson),
    )


def resolve_warehouse(
    data_dir: Path | str = EMBEDDED_DATA_DIR, *, announce: bool = True, keep_running: bool = False
) -> Warehouse:
    """Pick the warehouse; start the embedded server when nothing is configured.

    When the embedded server is used, ``AIRFLOW_CONN_SENDGRID_WAREHOUSE`` is exported so that
    Airflow tasks started from this process find the same database through the connection. The
    embedded server stops when the last process using it exits, unless ``keep_running``.
    """
    target = configured_target()
    if target is not None:
        warehouse = Warehouse(target=target, source="connection")
    else:
        server = EmbeddedPostgres(data_dir, keep_running=keep_running).start()
        target = ensure_database(server, EMBEDDED_DATABASE)
        os.environ[WAREHOUSE_CONN_ENV] = target.airflow_connection_json()
        warehouse = Warehouse(target=target, source="embedded", data_dir=Path(data_dir))
    if announce:
        print(warehouse.describe(), flush=True)
    return warehouse
