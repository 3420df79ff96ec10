"""``make clean`` removes what the README's commands leave behind, ruff's cache included."""

from __future__ import annotations

import shlex
import subprocess

from sendgrid_elt.settings import PROJECT_ROOT


def test_make_clean_removes_ruffs_cache() -> None:
    """``make test`` runs ruff, which leaves ``.ruff_cache/``; ``make clean`` used to keep it."""
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "clean"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    removed = shlex.split(out.replace("\\\n", " "))
    assert removed[:2] == ["rm", "-rf"]
    assert {".venv", ".local", "dbt_project/target", ".ruff_cache"} <= set(removed)
