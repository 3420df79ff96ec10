"""The layout keeps its promises: imports run one way, and each fact has one definition.

Layers (docs/architecture.md), lowest first: the provider ``sendgrid_hook`` → the pipeline core
``sendgrid_elt`` → the Connect page plugin ``sendgrid_connect``, the dashboard
``sendgrid_dashboard`` and the demo ``sendgrid_demo``. A package may import the layers below it
and never one above; the plugin uses only the pipeline's public modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from sendgrid_elt.settings import PROJECT_ROOT

PACKAGES = {
    "sendgrid_hook": PROJECT_ROOT / "plugins" / "sendgrid_hook" / "src" / "sendgrid_hook",
    "sendgrid_elt": PROJECT_ROOT / "sendgrid_elt",
    "sendgrid_connect": PROJECT_ROOT / "plugins" / "sendgrid_connect",
    "sendgrid_dashboard": PROJECT_ROOT / "sendgrid_dashboard",
    "sendgrid_demo": PROJECT_ROOT / "sendgrid_demo",
}
#: What each package must never import.
FORBIDDEN = {
    "sendgrid_hook": {"sendgrid_elt", "sendgrid_connect", "sendgrid_dashboard", "sendgrid_demo"},
    "sendgrid_elt": {"sendgrid_connect", "sendgrid_dashboard", "sendgrid_demo"},
    "sendgrid_connect": {"sendgrid_dashboard", "sendgrid_demo"},
    "sendgrid_dashboard": {"sendgrid_connect", "sendgrid_demo"},
}
#: The pipeline modules other packages may use (``sendgrid_elt/__init__.py`` lists them).
PUBLIC_PIPELINE = {
    "sendgrid_elt",
    "sendgrid_elt.settings",
    "sendgrid_elt.warehouse",
    "sendgrid_elt.connection_health",
    "sendgrid_elt.catalog",
    "sendgrid_elt.stream_scopes",
    "sendgrid_elt.tenants",
    "sendgrid_elt.assets",
    "sendgrid_elt.postgres_target",
}
#: Each fact's value and the one module allowed to spell it.
FACTS = {
    "sendgrid_warehouse": "plugins/sendgrid_hook/src/sendgrid_hook/constants.py",
    "/sendgrid": "plugins/sendgrid_hook/src/sendgrid_hook/constants.py",
    "/sendgrid/connections": "plugins/sendgrid_hook/src/sendgrid_hook/constants.py",
    "sendgrid_connect_base_url": "plugins/sendgrid_hook/src/sendgrid_hook/constants.py",
    "sendgrid_staging": "sendgrid_elt/settings.py",
    "sendgrid_marts": "sendgrid_elt/settings.py",
    "sendgrid_build_status": "sendgrid_elt/settings.py",
    "sendgrid_dbt": "sendgrid_elt/settings.py",
    "sendgrid_bi_reader": "sendgrid_elt/settings.py",
    "sendgrid_api": "sendgrid_elt/settings.py",
    "sendgrid_tenants": "sendgrid_elt/settings.py",
    "sendgrid_extract_load": "sendgrid_elt/settings.py",
    "sendgrid_transform": "sendgrid_elt/settings.py",
    "sendgrid_alert_recipients": "sendgrid_elt/settings.py",
    "AIRFLOW_CONN_SENDGRID_WAREHOUSE": "sendgrid_elt/settings.py",
}
#: Python outside the tests (the simulator models SendGrid, whose names may coincide).
SOURCE_DIRS = ("plugins", "sendgrid_elt", "sendgrid_dashboard", "sendgrid_demo", "dags", "deploy")


def _python_files(root: Path) -> Iterator[Path]:
    yield from (p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts)


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_downwards(package: str) -> None:
    bad = [
        f"{path.relative_to(PROJECT_ROOT)}: {name}"
        for path in _python_files(PACKAGES[package])
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN[package]
    ]
    assert bad == []


@pytest.mark.parametrize("package", ["sendgrid_connect", "sendgrid_dashboard"])
def test_plugin_and_dashboard_use_only_the_pipelines_public_modules(package: str) -> None:
    bad = [
        f"{path.relative_to(PROJECT_ROOT)}: {name}"
        for path in _python_files(PACKAGES[package])
        for name in _imports(path)
        if name.split(".")[0] == "sendgrid_elt" and name not in PUBLIC_PIPELINE
    ]
    assert bad == []


def test_connection_types_are_the_providers_constant() -> None:
    literal = []
    for folder in SOURCE_DIRS:
        for path in _python_files(PROJECT_ROOT / folder):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Dict):
                    for key, value in zip(node.keys, node.values, strict=True):
                        named = isinstance(key, ast.Constant) and key.value in (
                            "conn_type",
                            "connection-type",
                        )
                        if named and isinstance(value, ast.Constant) and value.value == "sendgrid":
                            literal.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert literal == []


def test_each_fact_is_spelled_in_one_module() -> None:
    where: dict[str, set[str]] = {value: set() for value in FACTS}
    for folder in SOURCE_DIRS:
        for path in _python_files(PROJECT_ROOT / folder):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Constant) and node.value in where:
                    where[node.value].add(str(path.relative_to(PROJECT_ROOT)))
    extra = {value: sorted(files - {FACTS[value]}) for value, files in where.items()}
    assert {value: files for value, files in extra.items() if files} == {}
