"""``SENDGRID_API_KEY=... make run``: one command, a real account's pipeline, a dashboard.

SendGrid is not reachable here, so the account is the simulator's, through the documented
base-URL override; everything else is what a user runs from a plain shell.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from sendgrid_elt.settings import MARTS_SCHEMA, PROJECT_ROOT, STAGING_SCHEMA

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def test_make_run_with_a_key_from_the_environment(tmp_path: Path) -> None:
    """The new user's path: the key in the environment, no warehouse configured (the run's
    own embedded PostgreSQL, apart from the demo's)."""
    from sendgrid_elt.embedded_postgres import EmbeddedPostgres, ensure_database
    from sendgrid_elt.warehouse import EMBEDDED_DATABASE
    from sendgrid_simulator.testing import run_simulator

    local = tmp_path / "local"
    with run_simulator(seed=7, scale="tiny") as sim:
        tenant = sim.accounts["tenants"][-1]
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "SENDGRID_LOCAL_DIR": str(local),
            "SENDGRID_API_KEY": tenant["api_keys"]["full"],
            "SENDGRID_BASE_URL": sim.base_url,
            "SENDGRID_SUBUSERS": "none",
            "SENDGRID_DISPLAY_NAME": "Real Account Inc",
        }
        out = subprocess.run(
            ["make", "--no-print-directory", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1100,
            check=False,
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
    assert len(out.stdout.splitlines()) < 300, out.stdout[-2000:]  # ~100 tasks; was ~3,600
    run_warehouse = local / "run" / "warehouse"
    assert f"embedded PostgreSQL in {run_warehouse}" in out.stdout
    assert not (local / "warehouse").exists()  # the demo's warehouse is never touched
    with EmbeddedPostgres(run_warehouse / "pgdata") as server:
        target = ensure_database(server, EMBEDDED_DATABASE)
        with psycopg.connect(target.conninfo()) as conn:
            staged = conn.execute(
                f'select count(*) from "{STAGING_SCHEMA}".user_account',  # noqa: S608
            ).fetchone()
            tenants = conn.execute(
                f'select count(*) from "{MARTS_SCHEMA}".dim_sendgrid_tenants',  # noqa: S608
            ).fetchone()
    assert staged == (1,)
    assert tenants == (1,)


def test_make_run_without_a_key_says_what_to_set(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "SENDGRID_LOCAL_DIR": str(tmp_path / "local"),
    }
    out = subprocess.run(
        ["make", "--no-print-directory", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode != 0
    assert "set SENDGRID_API_KEY" in out.stdout + out.stderr
