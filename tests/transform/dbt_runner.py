"""Run the dbt CLI of the virtualenv against one test database (isolated target/log paths)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")


def dbt_env(target: Any) -> dict[str, str]:
    """Environment the project's profiles.yml reads (SENDGRID_WAREHOUSE_*)."""
    env = os.environ.copy()
    env.update(
        SENDGRID_WAREHOUSE_HOST=target.host,
        SENDGRID_WAREHOUSE_PORT=str(target.port),
        SENDGRID_WAREHOUSE_USER=target.user,
        SENDGRID_WAREHOUSE_PASSWORD=target.password,
        SENDGRID_WAREHOUSE_DBNAME=target.dbname,
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
    )
    return env


def as_of_vars(as_of: dt.datetime | str) -> list[str]:
    """``--vars`` arguments: the pipeline's names plus the as-of instant (ISO-8601)."""
    from sendgrid_elt.settings import dbt_vars

    value = as_of if isinstance(as_of, str) else as_of.isoformat()
    return ["--vars", json.dumps(dbt_vars(sendgrid_as_of=value))]


def run_dbt(
    target: Any, work_dir: Path, *args: str, check: bool = True
) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Run ``dbt <args>``; return the process and the run results (``[]`` if none)."""
    target_path = work_dir / "target"
    cmd = [
        str(DBT), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(target_path), "--log-path", str(work_dir / "logs"),
    ]  # fmt: skip
    results_file = target_path / ("sources.json" if "freshness" in args else "run_results.json")
    results_file.unlink(missing_ok=True)
    proc = subprocess.run(cmd, env=dbt_env(target), capture_output=True, text=True)
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-8000:]}\n{proc.stderr}")
    return proc, results
