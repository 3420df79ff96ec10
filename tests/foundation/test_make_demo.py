"""``make demo``, the main job, from a plain shell: what a new user runs first.

One run with the simulated clock moved forward (``ARGS=--advance-days 2``), on the embedded
warehouse: the marts are built as of the simulated day (not the wall clock), the summary shows
every column, the alert e-mails print their text, and the dashboard is written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from sendgrid_demo.summary import TABLES
from sendgrid_elt.settings import MARTS_SCHEMA, PROJECT_ROOT, STAGING_SCHEMA

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_make_demo_builds_the_marts_as_of_the_simulated_day(tmp_path: Path) -> None:
    from sendgrid_elt.embedded_postgres import EmbeddedPostgres, ensure_database
    from sendgrid_elt.warehouse import EMBEDDED_DATABASE

    local = tmp_path / "local"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # a plain shell: the venv is not activated
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "SENDGRID_LOCAL_DIR": str(local),
    }
    out = subprocess.run(
        ["make", "--no-print-directory", "demo", "ARGS=--advance-days 2"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    clock = json.loads((local / "demo" / "state.json").read_text())["clock"]
    assert f"simulated today {clock}" in out.stdout

    # Every summary column is printed, none cut off; each line fits 100 columns.
    summary = out.stdout.split("==> Utilization summary")[1].split("==> ")[0]
    for title, _ in (column for columns in TABLES for column in columns):
        assert re.search(rf"(^|  ){re.escape(title)}(  |$)", summary, re.M), title
    assert max(len(line) for line in summary.splitlines()) <= 100
    # The reconnect alert is printed with its text, not only its subject.
    mail = out.stdout.split("==> Reconnect alert e-mails")[1].split("==> ")[0]
    assert "needs to be reconnected" in mail
    assert "What to do: open" in mail
    assert (local / "demo" / "dashboard.html").is_file()

    with EmbeddedPostgres(local / "warehouse" / "pgdata") as server:
        target = ensure_database(server, EMBEDDED_DATABASE)
        with psycopg.connect(target.conninfo()) as conn:
            (as_of,) = conn.execute(
                f'select as_of from "{STAGING_SCHEMA}".extract_runs',  # noqa: S608
            ).fetchone()
            built = conn.execute(
                f'select distinct as_of_at from "{MARTS_SCHEMA}".rpt_sendgrid_utilization_overview'  # noqa: S608
            ).fetchall()
    assert as_of.astimezone(dt.UTC).date().isoformat() == clock  # the simulated day
    assert built == [(as_of,)]
