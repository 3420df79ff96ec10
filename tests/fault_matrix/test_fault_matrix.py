"""Issue 14's fault matrix: every row, end to end, nothing lost and no tenant aborted.

Each case (``tests/fault_matrix/cases.py``) runs the extract task body for three tenants
against the simulator with one fault, asserts the outcome a user sees (``rejects``,
``stream_status``, ``connection_health`` and its alerts), and the harness asserts that
staging equals the simulator's truth apart from the rejected records and that every tenant
ran. ``make fault-matrix`` runs this module and prints the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fault_matrix.cases import CASES, slug
from tests.fault_matrix.harness import CLOCK, Matrix

pytestmark = pytest.mark.usefixtures("airflow_home")


@pytest.fixture
def matrix(warehouse: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Matrix]:
    from sendgrid_simulator.testing import run_simulator

    with run_simulator(seed=42, scale="tiny", clock=CLOCK) as sim:
        yield Matrix(sim, warehouse, monkeypatch)


@pytest.mark.parametrize("name", list(CASES), ids=[slug(n) for n in CASES])
def test_fault_matrix(name: str, matrix: Matrix, record_property: Any) -> None:
    area, case = CASES[name]
    row: dict[str, Any] = {"case": name, "area": area, "outcome": "", "lost": None,
                           "aborted": None}  # fmt: skip
    try:
        row["outcome"] = case(matrix)
    finally:
        try:
            lost, notes = matrix.lost()
            row.update(lost=lost, aborted=matrix.aborted, notes=notes)
        except Exception as exc:  # the case failed before the schema existed, etc.
            row.update(notes=[f"not measured: {type(exc).__name__}"])
        record_property("fault_matrix", json.dumps(row))
    assert row["notes"] == [], row["notes"]
    assert row["lost"] == 0
    assert row["aborted"] == 0, matrix.runs
