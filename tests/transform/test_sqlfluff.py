"""The dbt models are SQLFluff-clean (postgres dialect, jinja templater, dbt_project/.sqlfluff)."""

from __future__ import annotations

import subprocess
import sys

from tests.transform.dbt_runner import DBT_PROJECT


def test_models_pass_sqlfluff_lint() -> None:
    command = [sys.executable, "-m", "sqlfluff", "lint", "models", "--processes", "2"]
    proc = subprocess.run(command, cwd=DBT_PROJECT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
