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


def test_a_warehouse_missing_one_model_names_it(
    postgres_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The marts are there but one reporting model is not (added since the last transform):
    the message names it and does not claim the warehouse has no marts."""
    import psycopg

    from sendgrid_elt.settings import MARTS_SCHEMA

    from .marts_schema import create_marts

    with scratch_database(postgres_server, prefix="onemissing") as db:
        with psycopg.connect(db.conninfo()) as conn:
            create_marts(conn)
            conn.execute(f"drop table {MARTS_SCHEMA}.rpt_sendgrid_seat_activity")
        status = main(["--conninfo", db.conninfo(), "--output", str(tmp_path / "d.html")])
    err = capsys.readouterr().err
    assert status == 2
    assert f"{MARTS_SCHEMA}.rpt_sendgrid_seat_activity" in err
    assert "no marts yet" not in err
    assert "rpt_sendgrid_portfolio" not in err  # only the missing one is named
    assert not (tmp_path / "d.html").exists()
