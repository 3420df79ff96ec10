"""``SENDGRID_API_KEY=... make run``: one command, a real account's pipeline, a dashboard.

SendGrid is not reachable here, so the account is the simulator's, through the documented
base-URL override; everything else is what a user runs from a plain shell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sendgrid_elt.settings import MARTS_SCHEMA, STAGING_SCHEMA
from tests.foundation.plain_shell import query_embedded, run_make

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_make_run_with_a_key_from_the_environment(tmp_path: Path) -> None:
    """The new user's path: the key in the environment, no warehouse configured (the run's
    own embedded PostgreSQL, apart from the demo's)."""
    from sendgrid_simulator.testing import run_simulator

    local = tmp_path / "local"
    with run_simulator(seed=7, scale="tiny") as sim:
        tenant = sim.accounts["tenants"][-1]
        out = run_make(
            local,
            "run",
            SENDGRID_API_KEY=tenant["api_keys"]["full"],
            SENDGRID_BASE_URL=sim.base_url,
            SENDGRID_SUBUSERS="none",
            SENDGRID_DISPLAY_NAME="Real Account Inc",
        )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert tenant["api_keys"]["full"] not in out.stdout + out.stderr
    dashboard = local / "run" / "dashboard.html"
    assert f"file://{dashboard}" in out.stdout
    assert "Real Account Inc" in dashboard.read_text()
    # Airflow's own output goes to the run's log; the terminal gets a line per task.
    log = local / "run" / "run.log"
    assert f"Airflow's log: {log}" in out.stdout
    assert "sendgrid_extract_load" in log.read_text()
    assert tenant["api_keys"]["full"] not in log.read_text()  # nor in Airflow's own output
    assert len(out.stdout.splitlines()) < 300, out.stdout[-2000:]  # ~100 tasks; was ~3,600
    run_warehouse = local / "run" / "warehouse"
    assert f"embedded PostgreSQL in {run_warehouse}" in out.stdout
    assert not (local / "warehouse").exists()  # the demo's warehouse is never touched
    data = run_warehouse / "pgdata"
    assert query_embedded(data, (STAGING_SCHEMA, "user_account"), "count(*)") == [(1,)]
    assert query_embedded(data, (MARTS_SCHEMA, "dim_sendgrid_tenants"), "count(*)") == [(1,)]


def test_make_run_without_a_key_says_what_to_set(tmp_path: Path) -> None:
    out = run_make(tmp_path / "local", "run")
    assert out.returncode != 0
    assert "set SENDGRID_API_KEY" in out.stdout + out.stderr
