"""``make demo``, the main job, from a plain shell: what a new user runs first.

One run with the simulated clock moved forward (``ARGS=--advance-days 2``), on the embedded
warehouse: the marts are built as of the simulated day (not the wall clock), the summary shows
every column, the alert e-mails print their text, and the dashboard is written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from sendgrid_demo.summary import TABLES
from sendgrid_elt.settings import MARTS_SCHEMA, STAGING_SCHEMA
from tests.foundation.plain_shell import query_embedded, run_make

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_make_demo_builds_the_marts_as_of_the_simulated_day(tmp_path: Path) -> None:
    local = tmp_path / "local"
    out = run_make(local, "demo", "ARGS=--advance-days 2")
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
    assert "What to do: reconnect" in mail
    assert re.search(r"^\s*http://\S+/sendgrid/connections\?tenant=\S+$", mail, re.M)
    assert (local / "demo" / "dashboard.html").is_file()

    data = local / "warehouse" / "pgdata"
    ((as_of,),) = query_embedded(data, (STAGING_SCHEMA, "extract_runs"), "as_of")
    overview = (MARTS_SCHEMA, "rpt_sendgrid_utilization_overview")
    built = query_embedded(data, overview, "distinct as_of_at")
    assert as_of.astimezone(dt.UTC).date().isoformat() == clock  # the simulated day
    assert built == [(as_of,)]
