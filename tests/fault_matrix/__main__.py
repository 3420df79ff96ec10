"""``make fault-matrix``: run the fault matrix against the simulator and print its table.

Runs ``tests/fault_matrix/test_fault_matrix.py`` (one row per case) plus the rows whose
behaviour is tested where it lives (the Connect page's invites and its list of connections),
then prints: case, outcome, records lost, tenants aborted, seconds. Exit status 1 when a row
failed or could not run.

    .venv/bin/python -m tests.fault_matrix [pytest args...]
"""

from __future__ import annotations

import ast
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MATRIX = "tests/fault_matrix/test_fault_matrix.py"
#: Rows tested where their behaviour lives: row -> pytest node id.
ELSEWHERE = {
    "invite link after its connection was re-created": (
        "tests/connect_page/test_hostile_connections.py::"
        "test_invite_dies_with_its_connection_even_if_the_id_comes_back"
    ),
    "one connection with a bad extra": (
        "tests/connect_page/test_hostile_connections.py::"
        "test_one_unreadable_connection_does_not_break_the_list"
    ),
    "the execution API answering 503 to Variable and Connection reads": (
        "tests/hook/test_unreadable_is_not_absent.py::"
        "test_reads_the_execution_api_cannot_answer_are_errors_not_absence"
    ),
}


class _Collector:
    """Keeps each test's result, duration and recorded row."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}
        self.selected: set[str] = set()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.selected = {item.nodeid for item in session.items}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        entry = self.results.setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0})
        entry["seconds"] += report.duration
        if report.failed:
            entry["outcome"] = "failed"
            entry["error"] = _first_line(report)
        for name, value in report.user_properties:
            if name == "fault_matrix":
                entry["row"] = json.loads(value)


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return " ".join(text.split())[:160]


def _exists(node: str) -> bool:
    path, _, name = node.partition("::")
    file = ROOT / path
    if not file.exists():
        return False
    tree = ast.parse(file.read_text())
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def _table(rows: list[tuple[str, str, str, str, str]]) -> str:
    head = ("case", "outcome", "records lost", "tenants aborted", "seconds")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    widths[1] = min(widths[1], 110)
    lines = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    for row in rows:
        outcome = textwrap.wrap(row[1], widths[1]) or [""]
        first = [row[0], outcome[0], row[2], row[3], row[4]]
        lines.append(" | ".join(c.ljust(w) for c, w in zip(first, widths, strict=True)))
        for more in outcome[1:]:
            cells = ["", more, "", "", ""]
            lines.append(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the matrix; print the table; 0 when every row passed."""
    from tests.fault_matrix.cases import CASES, slug

    present = {row: node for row, node in ELSEWHERE.items() if _exists(node)}
    collector = _Collector()
    args = ["-q", "-p", "no:cacheprovider", "-o", "log_cli=false", MATRIX, *present.values(),
            *argv]  # fmt: skip
    pytest.main(args, plugins=[collector])
    rows, ok = [], True
    for name in CASES:
        node = f"{MATRIX}::test_fault_matrix[{slug(name)}]"
        result = collector.results.get(node)
        if result is None:
            if node in collector.selected or not argv:
                rows.append((name, "NOT RUN", "-", "-", "-"))
                ok = False
            continue
        row = result.get("row") or {}
        passed = result["outcome"] == "passed"
        ok &= passed
        outcome = ("ok: " + row.get("outcome", "")) if passed else f"FAILED: {result.get('error')}"
        rows.append((name, outcome, _n(row.get("lost")), _n(row.get("aborted")),
                     f"{result['seconds']:.1f}"))  # fmt: skip
    for name, node in ELSEWHERE.items():
        result = collector.results.get(node)
        if result is None:
            if name not in present:
                rows.append((name, "NOT RUN: test not found (branch hostile not merged)", "-",
                             "-", "-"))  # fmt: skip
                ok = False
            elif node in collector.selected or not argv:
                rows.append((name, "NOT RUN", "-", "-", "-"))
                ok = False
            continue
        passed = result["outcome"] == "passed"
        ok &= passed
        outcome = f"ok: {node.split('::')[1]}" if passed else f"FAILED: {result.get('error')}"
        rows.append((name, outcome, "n/a", "n/a", f"{result['seconds']:.1f}"))
    print("\n" + _table(rows))
    print(f"\n{sum(r[1].startswith('ok') for r in rows)}/{len(rows)} rows ok")
    return 0 if ok else 1


def _n(value: Any) -> str:
    return "?" if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
