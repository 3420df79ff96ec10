"""Two transform builds at once on one warehouse (real dbt, real PostgreSQL, the task's dbt path).

``max_active_runs=1`` keeps one transform run at a time within one Airflow, but not a dbt that
outlives its task (a task runner killed with SIGKILL leaves its dbt child running while the next
run starts), ``make demo``'s ``dag.test()`` beside ``make airflow``'s scheduler on the same
warehouse, or two cleared model tasks rebuilding at once. The incremental marts merge with
``delete+insert`` on a key the table does not enforce: two builds that read the table before
either commits both delete the old rows and both insert theirs, so every day counts twice.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from sendgrid_elt.settings import DBT_PROJECT_DIR
from tests.transform.dbt_runner import as_of_vars, run_dbt
from tests.transform.marts_reading import AS_OF, EXTRACTED_AT, query
from tests.transform.staging_data import build_scenario, create_staging

pytestmark = pytest.mark.slow

MODEL = "fct_sendgrid_email_activity_daily"
MART = f"sendgrid_marts.{MODEL}"
#: The builds run the model alone (its tests would only slow the test down).
NO_TESTS = ("resource_type:test", "resource_type:unit_test")
KEY = "tenant_id, sender_type, subuser_username, activity_date"
#: Generous bound for two dbt processes to reach the database (not a timing assertion).
REACH_SECONDS = 180


def _build(tmp_path: Path, name: str, select: str) -> int:
    """The task's dbt path (:func:`sendgrid_elt.transform.run_dbt`), as of the run's as-of."""
    from sendgrid_elt.settings import AS_OF_VAR
    from sendgrid_elt.settings import dbt_vars as name_vars
    from sendgrid_elt.transform import dbt_command, run_dbt, warehouse_env

    out = tmp_path / name
    out.mkdir()
    variables = {**name_vars(), AS_OF_VAR: AS_OF.isoformat()}
    cmd = dbt_command(DBT_PROJECT_DIR, out, out / "target", "--select", *select.split(),
                      "--exclude", *NO_TESTS, variables=variables)  # fmt: skip
    return run_dbt(cmd, warehouse_env(), lambda _uid, _result: None)


def _waiting(conn: psycopg.Connection, dbname: str) -> int:
    """Sessions of the test database waiting for a lock (the table's or another's)."""
    ((count,),) = conn.execute(
        "select count(*) from pg_stat_activity where datname = %s and wait_event_type = 'Lock'",
        [dbname],
    ).fetchall()
    return count


def test_two_overlapping_builds_never_count_a_day_twice(
    warehouse, tmp_path, capsys, caplog
) -> None:
    create_staging(warehouse)
    staging, _ = build_scenario(EXTRACTED_AT)
    staging.write(warehouse)
    # the mart, its parents, and the tenants its relationships test reads (no tests: quick)
    run_dbt(warehouse, tmp_path, "build", "--select", f"+{MODEL}", "+dim_sendgrid_tenants",
            "--exclude", *NO_TESTS, *as_of_vars(AS_OF))  # fmt: skip
    ((rows_before,),) = query(warehouse, f"select count(*) from {MART}")  # noqa: S608
    assert rows_before > 0

    codes: dict[str, int] = {}
    # hold the mart while both builds start, so both read it before either writes (the race,
    # made certain)
    with psycopg.connect(warehouse.conninfo()) as holder:
        holder.execute(f"lock table {MART} in access exclusive mode")

        def build(name: str) -> None:
            codes[name] = _build(tmp_path, name, MODEL)

        builds = [threading.Thread(target=build, args=(n,)) for n in ("run_a", "run_b")]
        for thread in builds:
            thread.start()
        deadline = time.monotonic() + REACH_SECONDS
        with psycopg.connect(warehouse.conninfo(), autocommit=True) as watcher:
            while _waiting(watcher, warehouse.dbname) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _waiting(watcher, warehouse.dbname) == 2, "both builds never reached the db"
    for thread in builds:
        thread.join(REACH_SECONDS)
    assert codes == {"run_a": 0, "run_b": 0}
    # the second build waited for the first, and its task log says for whom
    assert "another dbt build holds this warehouse (session 'sendgrid dbt" in (
        capsys.readouterr().out + caplog.text
    )

    duplicates = query(
        warehouse,
        f"select {KEY}, count(*) from {MART} group by {KEY} having count(*) > 1",  # noqa: S608
    )
    assert duplicates == []
    ((rows_after,),) = query(warehouse, f"select count(*) from {MART}")  # noqa: S608
    assert rows_after == rows_before
