"""Run a README ``make`` command as a new user does (a plain shell) and read its warehouse."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from sendgrid_elt.settings import PROJECT_ROOT


def plain_env(local: Path, **environ: str) -> dict[str, str]:
    """A root login shell's environment (no venv, no TEST_POSTGRES_URL, no PG* or Airflow
    variables), its project files under ``local``."""
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "SENDGRID_LOCAL_DIR": str(local),
        **environ,
    }


def run_make(local: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """``make <args>`` from a plain shell (the venv not activated), its files under ``local``."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=PROJECT_ROOT,
        env=plain_env(local, **environ),
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )


def query_embedded(data_dir: Path, table: tuple[str, str], select: str) -> list[tuple[Any, ...]]:
    """``select <select> from <schema>.<table>`` in the embedded warehouse kept in ``data_dir``
    (started for it)."""
    import psycopg
    from psycopg import sql

    from sendgrid_elt.embedded_postgres import EmbeddedPostgres, ensure_database
    from sendgrid_elt.warehouse import EMBEDDED_DATABASE

    with EmbeddedPostgres(data_dir) as server:
        target = ensure_database(server, EMBEDDED_DATABASE)
        with psycopg.connect(target.conninfo()) as conn:
            statement = sql.SQL("select {} from {}").format(sql.SQL(select), sql.Identifier(*table))
            return conn.execute(statement).fetchall()
