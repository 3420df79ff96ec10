"""Fixtures of the dbt tests: the staging scenario built once for the session.

``dbt build`` is the expensive part, so ``built`` runs it once per session for both modules that
read its database. ``test_dbt_build`` only reads the marts; ``test_dbt_reruns`` runs dbt again
and changes them (new snapshots, a new day of staging data), so it must run after
``test_dbt_build``: :func:`pytest_collection_modifyitems` moves its tests last, whatever order
the files are named in.
"""

from __future__ import annotations

import pytest

from tests.scratch_db import scratch_database
from tests.transform.dbt_runner import as_of_vars, run_dbt
from tests.transform.marts_reading import AS_OF, EXTRACTED_AT
from tests.transform.staging_data import build_scenario, create_staging

RERUNS_MODULE = "test_dbt_reruns.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that change ``built``'s database after every other test (stable order)."""
    items.sort(key=lambda item: item.path.name == RERUNS_MODULE)


@pytest.fixture(scope="session")
def built(postgres_server, tmp_path_factory):
    """A database with the scenario loaded and built once.

    Yields (target, truths, results, proc, work, staging): ``dbt build``'s results and process.
    """
    work = tmp_path_factory.mktemp("dbt")
    with scratch_database(postgres_server, "test_dbt") as target:
        create_staging(target)
        staging, truths = build_scenario(EXTRACTED_AT)
        staging.write(target)
        proc, results = run_dbt(target, work, "build", *as_of_vars(AS_OF), check=False)
        yield target, truths, results, proc, work, staging
