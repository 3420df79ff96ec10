"""The virtualenv holds exactly the pinned requirements (our own constraints)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-r "):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\],]+)==([^\s;]+)", line)
        assert match, f"{path.name}: not an exact pin: {raw!r}"
        name = re.sub(r"\[.*\]", "", match.group(1))
        pins[_normalise(name)] = match.group(2)
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_requirement_is_an_exact_pin() -> None:
    runtime = _pins(REPO_ROOT / "requirements.txt")
    dev = _pins(REPO_ROOT / "requirements-dev.txt")
    assert runtime["apache-airflow"].startswith("3.3.")
    assert runtime["dbt-core"].startswith("1.11.")
    assert not set(runtime) & set(dev), "a package is pinned twice"


def test_installed_packages_match_the_pins() -> None:
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--exclude", "pip"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    installed = {
        _normalise(n): v
        for n, v in (line.split("==", 1) for line in frozen.splitlines() if "==" in line)
    }
    pinned = _pins(REPO_ROOT / "requirements.txt") | _pins(REPO_ROOT / "requirements-dev.txt")
    assert installed == pinned


def test_make_refuses_a_python_the_pins_have_no_wheels_for(tmp_path: Path) -> None:
    """pgserver (the embedded PostgreSQL) ships wheels for 3.11 and 3.12 only: ``make`` says so
    before creating a virtualenv whose installation would fail deep in pip."""
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        (tmp_path / name).write_bytes((REPO_ROOT / name).read_bytes())
    hook = tmp_path / "plugins" / "sendgrid_hook"
    hook.mkdir(parents=True)
    (hook / "pyproject.toml").write_text("")
    fake = tmp_path / "python3.13"
    fake.write_text(
        f'#!/bin/sh\n[ "$1" = -V ] && {{ echo "Python 3.13.1"; exit 0; }}\n'
        f'exec {sys.executable} -c "import sys; sys.exit(1)"\n'
    )
    fake.chmod(0o755)
    out = subprocess.run(["make", f"PYTHON={fake}", "venv"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=False)  # fmt: skip
    assert out.returncode != 0
    assert "Python 3.13.1; this project needs 3.11 or 3.12" in out.stdout + out.stderr
    assert not (tmp_path / ".venv").exists()
    for project in ("pyproject.toml", "plugins/sendgrid_hook/pyproject.toml"):
        assert 'requires-python = ">=3.11,<3.13"' in (REPO_ROOT / project).read_text(), project
