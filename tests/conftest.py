"""Test harness: an isolated Airflow home per session and a real PostgreSQL per test.

Airflow reads its configuration when first imported, so the environment is set here, at import
time, before any test module imports Airflow. The metadata database is SQLite in the session's
temporary Airflow home (metadata only: the warehouse is always PostgreSQL).

PostgreSQL comes from ``TEST_POSTGRES_URL``, else the standard ``PG*`` variables, else the
embedded server (pgserver) started in a temporary folder. Each test that asks for
``pg_database`` gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sendgrid_elt.postgres_target import PostgresTarget  # no Airflow import: safe before env setup
from tests.scratch_db import scratch_database

REPO_ROOT = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sendgrid-airflow-home-"))


def _isolated_airflow_env() -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The first parse of the transform DAG may run `dbt parse` (slow on a busy machine).
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # Nothing phones home from tests (Cosmos/Scarf telemetry, dbt usage stats).
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "SCARF_NO_ANALYTICS": "true",
    }


# Must happen before anything imports airflow.
for _key in [k for k in os.environ if k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))]:
    del os.environ[_key]
os.environ.update(_isolated_airflow_env())


#: Folders whose tests share an expensive session fixture of their conftest (one dbt build, the
#: pipeline runs, the Connect page's Airflow): ``make test`` runs each whole on one worker.
SHARED_FIXTURE_FOLDERS = ("tests/connect_page", "tests/end_to_end", "tests/transform")


def worker_unit(nodeid: str) -> str:
    """The unit ``make test`` hands to one worker: a shared-fixture folder, else the module
    (whose module fixtures - an Airflow cluster, a DAG run - are then built once)."""
    module = nodeid.split("::", 1)[0]
    return next((f for f in SHARED_FIXTURE_FOLDERS if module.startswith(f"{f}/")), module)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist absent or disabled (-p no:xdist): unused
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's ``loadscope`` distribution over :func:`worker_unit` units."""
    from xdist.scheduler import LoadScopeScheduling

    class ScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_unit(nodeid)

    return ScopeScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Units holding a ``slow`` test come first, so the longest do not start last.

    The sort is stable: the order within a unit is kept (``tests/transform`` moves its rerun
    tests last). Workers hand the order on to the scheduler (``--no-loadscope-reorder``).
    """
    slow = {worker_unit(item.nodeid) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: worker_unit(item.nodeid) not in slow)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """The session's Airflow home with a migrated metadata database."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresTarget]:
    """A reachable PostgreSQL server (configured, or embedded for the session)."""
    url = os.environ.get("TEST_POSTGRES_URL")
    configured = PostgresTarget.from_url(url) if url else PostgresTarget.from_libpq_env()
    if configured is not None:
        _check_reachable(configured)
        yield configured
        return
    from sendgrid_elt.embedded_postgres import EmbeddedPostgres

    data_dir = Path(tempfile.mkdtemp(prefix="sendgrid-test-pg-")) / "pgdata"
    embedded = EmbeddedPostgres(data_dir)
    try:
        yield embedded.start()
    finally:
        embedded.stop()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def _check_reachable(target: PostgresTarget) -> None:
    import psycopg

    try:
        psycopg.connect(target.conninfo(), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.exit(f"TEST_POSTGRES_URL/PG* points at {target.describe()}, unreachable: {exc}", 2)


@pytest.fixture
def pg_database(postgres_server: PostgresTarget) -> Iterator[PostgresTarget]:
    """A fresh, empty database for one test; dropped afterwards."""
    with scratch_database(postgres_server) as target:
        yield target


@pytest.fixture
def warehouse(pg_database: PostgresTarget, monkeypatch: pytest.MonkeyPatch) -> PostgresTarget:
    """A fresh database registered as the ``sendgrid_warehouse`` Airflow connection."""
    from sendgrid_elt.warehouse import WAREHOUSE_CONN_ENV

    monkeypatch.setenv(WAREHOUSE_CONN_ENV, pg_database.airflow_connection_json())
    return pg_database


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium for browser tests (``deploy/ensure_chromium.sh`` installs it).

    Missing on a developer machine: the test is skipped. Missing in CI (``CI`` set), where
    ``.ci/run`` installs it: the test fails, so a missing browser never hides a failure.
    """
    if CHROMIUM.exists():
        return CHROMIUM
    message = "Debian chromium missing: run deploy/ensure_chromium.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module", autouse=True)
def _forget_tenants_stored_by_other_modules() -> None:
    """Tenant discovery reads the metadata DB (Variable ``sendgrid_tenants`` and ``sendgrid``
    connections): what one test module stored there must not become another module's tenants.
    """
    if not (_AIRFLOW_HOME / "airflow.db").exists():
        return
    from airflow.models import Connection, Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Variable).filter(Variable.key == "sendgrid_tenants").delete()
        session.query(Connection).filter(Connection.conn_type == "sendgrid").delete()
