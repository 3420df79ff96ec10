"""Static validation of the Dockerfile: pinned base image = pinned Airflow, real installs."""

from __future__ import annotations

import fnmatch
import re

import pytest

from .deploy_helpers import DOCKERFILE, REPO_ROOT


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _pinned(name: str) -> str:
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{name} is not pinned in requirements.txt")


def _copies() -> list[tuple[str, str]]:
    out = []
    for keyword, rest in _instructions():
        if keyword == "COPY":
            args = [a for a in rest.split() if not a.startswith("--")]
            out += [(src, args[-1]) for src in args[:-1]]
    return out


def test_base_image_matches_the_pinned_airflow() -> None:
    froms = [rest for keyword, rest in _instructions() if keyword == "FROM"]
    assert len(froms) == 1
    match = re.fullmatch(r"apache/airflow:slim-(\d+\.\d+\.\d+)-python(\d+\.\d+)", froms[0])
    assert match, froms[0]
    assert match.group(1) == _pinned("apache-airflow") == "3.3.2"
    assert match.group(2) == "3.11"
    args = dict(
        rest.split("=", 1) for keyword, rest in _instructions() if keyword == "ARG" and "=" in rest
    )
    assert args["AIRFLOW_VERSION"] == match.group(1)


def test_requirements_are_installed_with_airflow_re_pinned() -> None:
    runs = " ".join(rest for keyword, rest in _instructions() if keyword == "RUN")
    assert re.search(
        r'pip install[^&]*"apache-airflow==\$\{AIRFLOW_VERSION\}" -r \S*requirements\.txt', runs
    )
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in DOCKERFILE.read_text().split("\n#", 1)[-1] or True
    env = " ".join(rest for keyword, rest in _instructions() if keyword == "ENV")
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in env


def test_provider_and_project_are_normal_installs() -> None:
    runs = [rest for keyword, rest in _instructions() if keyword == "RUN"]
    install = next(r for r in runs if "plugins/sendgrid_hook" in r)
    assert " -e " not in install
    assert "--editable" not in install
    assert "--no-deps" in install  # their dependencies are the pinned requirements above
    assert "pip check" in install
    assert "airflow providers hooks" in install  # the `sendgrid` connection type is registered


@pytest.mark.parametrize("src", sorted({src for src, _ in _copies()}))
def test_every_copied_path_exists(src: str) -> None:
    assert (REPO_ROOT / src).exists(), src


def test_image_contains_what_the_services_need() -> None:
    dests = {dest for _, dest in _copies()}
    assert {"/opt/airflow/dags", "/opt/airflow/dbt_project", "/opt/airflow/deploy"} <= dests
    copied = {src for src, _ in _copies()}
    assert {"requirements.txt", "plugins/sendgrid_hook", "sendgrid_elt", "pyproject.toml"} <= copied


def test_dockerignore_keeps_secrets_out_and_copied_files_in() -> None:
    patterns = [
        p.strip()
        for p in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    excluded = [p for p in patterns if not p.startswith("!")]
    assert {".env", ".git", ".venv"} <= set(excluded)
    for src, _ in _copies():
        hits = [p for p in excluded if fnmatch.fnmatch(src, p) or src.startswith(p + "/")]
        assert hits == [], f"{src} is excluded from the build context by {hits}"


def test_the_installed_package_is_pointed_at_the_copied_project() -> None:
    """The image installs ``sendgrid_elt`` into site-packages, away from the DAGs and the dbt
    project: ``SENDGRID_PROJECT_DIR`` must name the folder they are copied to, or the transform
    DAG finds no manifest."""
    from sendgrid_elt.settings import PROJECT_DIR_ENV

    env = dict(
        pair.split("=", 1)
        for keyword, rest in _instructions()
        if keyword == "ENV"
        for pair in rest.split()
    )
    project = env[PROJECT_DIR_ENV]
    dests = {dest for _, dest in _copies()}
    assert {f"{project}/dags", f"{project}/dbt_project", f"{project}/plugins"} <= dests
    runs = " ".join(rest for keyword, rest in _instructions() if keyword == "RUN")
    assert f"--target-path {project}/dbt_project/target" in runs  # the manifest the DAG reads
