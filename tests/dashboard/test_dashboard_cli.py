"""``python -m sendgrid_dashboard`` on a warehouse the pipeline never filled: a clear message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sendgrid_dashboard.__main__ import main
from tests.scratch_db import scratch_database


def test_a_warehouse_without_marts_says_what_to_run(
    postgres_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with scratch_database(postgres_server, prefix="nomarts") as empty:
        status = main(["--conninfo", empty.conninfo(), "--output", str(tmp_path / "d.html")])
    err = capsys.readouterr().err
    assert status == 2
    assert "has no marts yet" in err
    assert "make demo" in err
    assert not (tmp_path / "d.html").exists()
