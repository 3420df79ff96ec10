"""The transform DAG's shape, its parse cost, and how its tasks reach dbt (no dbt run here)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_FILE = REPO_ROOT / "dags" / "sendgrid_transform.py"
MANIFEST = REPO_ROOT / "dbt_project" / "target" / "manifest.json"
#: What parsing a DAG file must never import (beyond what ``import airflow.sdk`` already did).
FORBIDDEN = ("dbt", "cosmos", "fastapi", "psycopg", "psycopg2", "sendgrid_connect",
             "sendgrid_hook", "sendgrid_provider", "airflow.plugins_manager")  # fmt: skip
PARSE_LIMIT = 0.3

_TIMING = """
import importlib.util, json, sys, time
w0, c0 = time.perf_counter(), time.process_time()
import airflow.sdk
w1, c1 = time.perf_counter(), time.process_time()
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("dag_under_test", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
w2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({{"sdk_wall": w1 - w0, "sdk_cpu": c1 - c0, "wall": w2 - w1, "cpu": c2 - c1,
                  "new_modules": sorted(set(sys.modules) - before)}}))
"""


def _load(path: Path = DAG_FILE):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(path))


def _time_import(path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _TIMING.format(path=str(path))],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_one_task_per_model_and_seed_reporting_its_tests_wired_like_dbt(airflow_home) -> None:
    bag = _load()
    assert bag.import_errors == {}
    dag = bag.dags["sendgrid_transform"]
    assets = [(a.name, a.uri) for a in dag.timetable.asset_condition.objects]
    assert assets == [("sendgrid_staging", "x-sendgrid://staging")]
    nodes = json.loads(MANIFEST.read_text())["nodes"]
    tasks = {t.task_id: t for t in dag.tasks}
    for node in nodes.values():
        if node["resource_type"] in ("model", "seed"):
            matches = [t for t in tasks if t.endswith("." + node["name"])]
            assert len(matches) == 1, node["name"]
            assert node["unique_id"] == tasks[matches[0]].node_ids[0]
    overview = tasks["reporting.rpt_sendgrid_utilization_overview"]
    assert "marts.fct_sendgrid_plan_recommendation" in overview.upstream_task_ids
    assert any(uid.startswith("test.") for uid in overview.node_ids)  # its tests report with it
    # a relationships test is reported by the model that declares it, after the model it reads
    plan = tasks["marts.fct_sendgrid_plan_utilization"]
    assert "marts.dim_sendgrid_tenants" in plan.upstream_task_ids
    assert any("relationships_fct_sendgrid_plan_utilization_tenant_id" in u for u in plan.node_ids)
    covered = [uid for t in tasks.values() for uid in getattr(t, "node_ids", ())]
    tests = [u for u, n in nodes.items() if n["resource_type"] == "test"]
    assert sorted(covered) == sorted(set(covered))  # each node reported by one task
    assert set(tests) <= set(covered)
    # roots follow the single dbt build; every model task starts in the triggerer
    assert tasks["staging.stg_sendgrid__accounts"].upstream_task_ids == {"dbt_build"}
    assert all(t.start_from_trigger for t in tasks.values() if hasattr(t, "node_ids"))
    assert tasks["publish_marts"].outlets[0].name == "sendgrid_marts"
    # the overage alerts wait on the model they read (and its tests), not on every model
    assert tasks["send_overage_alerts"].upstream_task_ids == {
        "reporting.rpt_sendgrid_overage_forecast"}  # fmt: skip
    # besides the model tasks: the build, publish_marts and send_overage_alerts
    assert len(tasks) == 3 + sum(1 for t in tasks.values() if hasattr(t, "node_ids"))


def test_every_dag_file_parses_in_under_0_3_s_without_heavy_imports(airflow_home) -> None:
    """Each DAG file, imported in a fresh interpreter right after ``import airflow.sdk``, costs
    at most 0.3 s of CPU, and at most 0.3 s of wall time scaled by how much the machine
    stretched the ``airflow.sdk`` import measured in the same process (wall / CPU; 1 when the
    machine is idle). Best of 3. It imports no dbt, database driver, FastAPI or plugin."""
    for path in sorted((REPO_ROOT / "dags").glob("*.py")):
        runs = [_time_import(path) for _ in range(3)]
        best = min(runs, key=lambda r: r["cpu"])
        stretch = max(1.0, min(r["sdk_wall"] / r["sdk_cpu"] for r in runs))
        wall = min(r["wall"] for r in runs)
        print(f"{path.name}: import airflow.sdk {best['sdk_wall']:.2f}s wall / "
              f"{best['sdk_cpu']:.2f}s CPU, then the DAG file {wall:.3f}s wall / "
              f"{best['cpu']:.3f}s CPU")  # fmt: skip
        heavy = [m for m in runs[0]["new_modules"] if m.split(".")[0] in FORBIDDEN
                 or m.startswith(FORBIDDEN)]  # fmt: skip
        assert heavy == [], f"{path.name} imports {heavy[:10]} at parse time"
        assert best["cpu"] <= PARSE_LIMIT, f"{path.name}: {best['cpu']:.3f}s CPU"
        assert wall <= PARSE_LIMIT * stretch, f"{path.name}: {wall:.3f}s (x{stretch:.1f} busy)"


def test_a_missing_manifest_is_an_import_error_naming_the_command(
    tmp_path, airflow_home, monkeypatch
) -> None:
    from sendgrid_elt import settings

    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", tmp_path / "dbt_project")  # never built
    bag = _load(dags)
    assert "sendgrid_transform" not in bag.dags
    (error,) = bag.import_errors.values()
    assert "manifest.json is missing" in error
    assert "make manifest" in error


def test_dbt_reaches_the_warehouse_through_the_connection(monkeypatch) -> None:
    """A socket host and an empty password (trust auth) reach profiles.yml's variables."""
    from sendgrid_elt.transform import warehouse_env

    connection = {"conn_type": "postgres", "host": "/tmp/pg-socket-dir", "port": 5433,
                  "login": "etl", "password": "", "schema": "analytics"}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_SENDGRID_WAREHOUSE", json.dumps(connection))
    env = warehouse_env()
    assert env["SENDGRID_WAREHOUSE_HOST"] == "/tmp/pg-socket-dir"
    assert env["SENDGRID_WAREHOUSE_PORT"] == "5433"
    assert env["SENDGRID_WAREHOUSE_DBNAME"] == "analytics"
    assert env["SENDGRID_WAREHOUSE_USER"] == "etl"
    assert env["SENDGRID_WAREHOUSE_PASSWORD"] == ""
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"


def test_dbt_never_starts_an_embedded_warehouse_in_a_task(monkeypatch) -> None:
    """Without the connection the build task says what to configure (as the extract does)."""
    from sendgrid_elt.transform import warehouse_env
    from sendgrid_elt.warehouse import WarehouseNotConfigured

    monkeypatch.delenv("AIRFLOW_CONN_SENDGRID_WAREHOUSE", raising=False)
    with pytest.raises(WarehouseNotConfigured, match="sendgrid_warehouse"):
        warehouse_env()


def test_the_as_of_of_the_staging_event_becomes_the_dbt_var(monkeypatch) -> None:
    from airflow.sdk import Asset

    from sendgrid_elt import transform
    from sendgrid_elt.assets import STAGING_ASSET
    from sendgrid_elt.settings import dbt_vars as name_vars
    from sendgrid_elt.transform import dbt_vars

    monkeypatch.setattr(transform, "_published_as_of", lambda: None)  # no newer run published

    def event(ts: str, extra: dict) -> SimpleNamespace:
        return SimpleNamespace(timestamp=ts, extra=extra)

    other = Asset(name="other", uri="x-sendgrid://other")
    events = {
        STAGING_ASSET: [
            event("2026-11-02T00:05:00", {"as_of": "2026-11-02T00:00:00+00:00"}),
            event("2026-11-01T00:05:00", {"as_of": "2026-11-01T00:00:00+00:00"}),
        ],
        other: [event("2026-11-03T00:00:00", {"as_of": "2030-01-01T00:00:00+00:00"})],
    }
    # the latest staging event wins; the schema names always travel along
    assert dbt_vars({"triggering_asset_events": events}) == name_vars(
        sendgrid_as_of="2026-11-02T00:00:00+00:00"
    )
    # a cleared old run publishes last: its older instant does not take the marts back
    late_old = {STAGING_ASSET: [
        event("2026-11-02T00:05:00", {"as_of": "2026-11-02T00:00:00Z"}),
        event("2026-11-03T09:00:00", {"as_of": "2026-10-20T00:00:00Z"}),
    ]}  # fmt: skip
    assert dbt_vars({"triggering_asset_events": late_old}) == name_vars(
        sendgrid_as_of="2026-11-02T00:00:00Z"
    )
    no_as_of = {STAGING_ASSET: [event("2026-11-02T00:05:00", {"rows": {}})]}
    assert dbt_vars({"triggering_asset_events": no_as_of}) == name_vars()
    assert dbt_vars({"triggering_asset_events": {}}) == name_vars()  # a manual run: names only


def test_a_cleared_older_transform_run_builds_as_of_the_newest_published_run(warehouse) -> None:
    """Clearing last week's transform run rebuilds over staging that holds today's data: it
    builds as of the newest extract run published, never as of its own older event (which
    took the marts, the utilization history and the overage alerts back in time)."""
    import psycopg

    from sendgrid_elt.assets import STAGING_ASSET
    from sendgrid_elt.extract_load import prepare_staging
    from sendgrid_elt.settings import STAGING_SCHEMA
    from sendgrid_elt.transform import dbt_vars

    prepare_staging()
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        conn.execute(
            f'insert into "{STAGING_SCHEMA}".extract_runs (run_id, as_of, published_at) '  # noqa: S608
            "values ('daily_1120', '2026-11-20T00:00:00Z', now())"
        )
    old = SimpleNamespace(timestamp="2026-11-01T00:05:00", extra={"as_of": "2026-11-01T00:00:00Z"})
    new = SimpleNamespace(timestamp="2026-11-21T00:05:00", extra={"as_of": "2026-11-21T00:00:00Z"})
    assert dbt_vars({"triggering_asset_events": {STAGING_ASSET: [old]}})["sendgrid_as_of"] == (
        "2026-11-20T00:00:00Z"
    )
    assert dbt_vars({"triggering_asset_events": {STAGING_ASSET: [new]}})["sendgrid_as_of"] == (
        "2026-11-21T00:00:00Z"
    )
    naive = SimpleNamespace(timestamp="2026-11-01T00:05:00", extra={"as_of": "2026-11-01T00:00"})
    assert dbt_vars({"triggering_asset_events": {STAGING_ASSET: [naive]}})["sendgrid_as_of"] == (
        "2026-11-20T00:00:00Z"
    )  # an instant without a zone is UTC, compared without a TypeError


def test_a_manual_run_builds_every_model_as_of_one_instant(warehouse) -> None:
    """A run triggered by hand has no staging event: it is pinned to the newest published as-of
    when it starts. Without the var each model reads the newest as-of itself as dbt reaches it,
    so an extract run publishing during the build left one run's marts at two instants."""
    import psycopg

    from sendgrid_elt.extract_load import prepare_staging
    from sendgrid_elt.settings import STAGING_SCHEMA
    from sendgrid_elt.settings import dbt_vars as name_vars
    from sendgrid_elt.transform import dbt_vars

    prepare_staging()
    assert dbt_vars({"triggering_asset_events": {}}) == name_vars()  # nothing published yet
    with psycopg.connect(warehouse.conninfo(), autocommit=True) as conn:
        conn.execute(
            f'insert into "{STAGING_SCHEMA}".extract_runs (run_id, as_of, published_at) '  # noqa: S608
            "values ('daily_1120', '2026-11-20T00:00:00Z', now())"
        )
    assert dbt_vars({"triggering_asset_events": {}}) == name_vars(
        sendgrid_as_of="2026-11-20T00:00:00Z"
    )


def test_a_warehouse_that_cannot_be_read_fails_the_as_of_instead_of_unpinning_it(
    monkeypatch, warehouse
) -> None:
    """The newest published as-of that could not be read was taken for "none published": a
    cleared older run then built the marts as of its own older instant, and a run by hand went
    unpinned. Now the task fails (its retry reads again); a warehouse no extract has run on yet
    still has none."""
    from sendgrid_elt import transform
    from sendgrid_elt.warehouse import WAREHOUSE_CONN_ENV

    assert transform._published_as_of() is None  # a fresh warehouse: no extract_runs yet
    down = {"conn_type": "postgres", "host": "127.0.0.1", "port": 9, "login": "postgres",
            "schema": "postgres"}  # fmt: skip
    monkeypatch.setenv(WAREHOUSE_CONN_ENV, json.dumps(down))
    with pytest.raises(RuntimeError, match="could not read the newest published as-of"):
        transform.dbt_vars({"triggering_asset_events": {}})
