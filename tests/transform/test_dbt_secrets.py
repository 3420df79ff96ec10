"""The warehouse password never reaches a transform's logs or kept artifacts (real dbt, real
PostgreSQL, the task's dbt path): not the task log (dbt's output, the lock's messages), not
``dbt.log``, not ``run_results.json`` or anything else dbt writes, on success or on a failed
connection. The test server trusts local connections, so any password connects. The build
selects no mart on a warehouse without the marts schema: it succeeds (the on-run-end status hook
once failed it there).

A guard: it passes on the current code and fails if any of those places echoes the password.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sendgrid_elt.settings import DBT_PROJECT_DIR
from tests.transform.staging_data import create_staging

pytestmark = pytest.mark.slow

PASSWORD = "pw-{{ not jinja }} 'q\" S3cr3t!"
SELECT = ("--select", "stg_sendgrid__accounts", "stg_sendgrid__tenants",
          "--exclude", "resource_type:test", "resource_type:unit_test")  # fmt: skip


def _run(tmp_path: Path, name: str) -> int:
    from sendgrid_elt.transform import dbt_command, run_dbt, warehouse_env

    out = tmp_path / name
    out.mkdir()
    cmd = dbt_command(DBT_PROJECT_DIR, out, out / "target", *SELECT,
                      variables={"sendgrid_as_of": "2026-11-28T00:00:00Z"})  # fmt: skip
    return run_dbt(cmd, warehouse_env(), lambda _uid, _result: None)


def test_the_warehouse_password_is_in_no_log_or_artifact(
    pg_database, tmp_path, monkeypatch, capsys, caplog
) -> None:
    from sendgrid_elt.warehouse import WAREHOUSE_CONN_ENV

    create_staging(pg_database)
    secret = dataclasses.replace(pg_database, password=PASSWORD)
    monkeypatch.setenv(WAREHOUSE_CONN_ENV, secret.airflow_connection_json())
    assert _run(tmp_path, "ok") == 0
    missing = dataclasses.replace(secret, dbname=f"{pg_database.dbname}_missing")
    monkeypatch.setenv(WAREHOUSE_CONN_ENV, missing.airflow_connection_json())
    assert _run(tmp_path, "no_database") == 2  # the failed connection is reported, not echoed

    captured = capsys.readouterr()
    task_log = captured.out + captured.err + caplog.text  # wherever logging sends it
    assert "does not exist" in task_log
    assert PASSWORD not in task_log
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "run_results.json" for p in written)
    assert [p for p in written if PASSWORD.encode() in p.read_bytes()] == []
    assert [p for p in written if b"S3cr3t" in p.read_bytes()] == []  # nor a part of it
