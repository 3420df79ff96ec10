"""The package installed apart from the project folder (the Docker image's layout): the folder
named by ``SENDGRID_PROJECT_DIR`` is where the DAGs, the dbt project and its manifest are."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sendgrid_elt.settings import PROJECT_DIR_ENV, PROJECT_ROOT

PROBE = (
    "from sendgrid_elt import settings\n"
    "from sendgrid_elt.dbt_graph import load_graph\n"
    "print(settings.DBT_MANIFEST)\n"
    "print(len(load_graph(settings.DBT_PROJECT_DIR).tasks))\n"
)


def _probe(site: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-c", PROBE],
        cwd=site, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_non_editable_install_reads_the_project_folder_it_is_pointed_at(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    shutil.copytree(PROJECT_ROOT / "sendgrid_elt", site / "sendgrid_elt",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    pointed = _probe(site, {PROJECT_DIR_ENV: str(PROJECT_ROOT)})
    assert pointed.returncode == 0, pointed.stderr[-2000:]
    manifest, nodes = pointed.stdout.split()
    assert manifest == str(PROJECT_ROOT / "dbt_project" / "target" / "manifest.json")
    assert int(nodes) > 80
    # unpointed, it looks inside site-packages, and the error names the variable
    unpointed = _probe(site, {})
    assert unpointed.returncode != 0
    assert str(site / "dbt_project" / "target") in unpointed.stderr, unpointed.stderr[-2000:]
    assert f"{PROJECT_DIR_ENV} names its folder" in unpointed.stderr
