"""Every DAG file imports without errors, fast (no network or database work at parse time)."""

from __future__ import annotations

from pathlib import Path

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


def test_dags_import_without_errors(airflow_home) -> None:
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert dagbag.import_errors == {}
    dag_files = sorted(p.name for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))
    loaded_files = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert set(dag_files) <= loaded_files, f"files without a DAG: {set(dag_files) - loaded_files}"
