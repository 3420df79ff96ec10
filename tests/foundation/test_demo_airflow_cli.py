"""The README's CLI way to add a tenant to the demo, from a plain shell.

``AIRFLOW_HOME=.local/demo/airflow .venv/bin/airflow connections add ...`` must use the demo's
metadata database and Fernet key: before, the key was only in the demo process's environment,
so the CLI stored the API key unencrypted (``fernet_key`` was empty in ``airflow.cfg``).
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from sendgrid_demo.airflow_home import pin_config
from sendgrid_elt.settings import PROJECT_ROOT
from tests.foundation.plain_shell import plain_env

pytestmark = pytest.mark.timeout(600)
BIN = PROJECT_ROOT / ".venv" / "bin"


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    out = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout


def test_the_cli_from_a_plain_shell_encrypts_with_the_demo_key(tmp_path: Path) -> None:
    local = tmp_path / "local"
    configure = "from sendgrid_demo.airflow_home import configure; configure()"
    _run([str(BIN / "python"), "-c", configure], plain_env(local), PROJECT_ROOT)
    home = local / "demo" / "airflow"
    demo_key = (home / "fernet.key").read_text().strip()

    # the README's command line: a relative AIRFLOW_HOME, nothing else set
    shell = plain_env(local, AIRFLOW_HOME="local/demo/airflow")
    got = _run([str(BIN / "airflow"), "config", "get-value", "core", "fernet_key"], shell, tmp_path)
    assert got.strip() == demo_key
    secret = "SG.added-from-the-cli-0123456789abcdef"
    add = ["connections", "add", "sendgrid_cli", "--conn-type", "sendgrid"]
    _run([str(BIN / "airflow"), *add, "--conn-password", secret], shell, tmp_path)

    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute(
            "select is_encrypted, password from connection where conn_id = 'sendgrid_cli'"
        ).fetchone()
    assert row is not None  # the demo's metadata database, not another one
    encrypted, stored = row
    assert encrypted
    assert stored != secret
    assert Fernet(demo_key.encode()).decrypt(stored.encode()).decode() == secret
    assert (home / "airflow.cfg").stat().st_mode & 0o077 == 0  # it holds the key


def test_pin_config_replaces_adds_and_keeps_the_rest(tmp_path: Path) -> None:
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(
        "[core]\n# The key\nfernet_key = \n# load_examples = True\nload_examples = True\n\n"
        "[database]\nsql_alchemy_conn = sqlite:////elsewhere.db\n"
    )
    pin_config(
        cfg,
        {
            "AIRFLOW__CORE__FERNET_KEY": "k=",
            "AIRFLOW__CORE__DAGS_FOLDER": "/dags",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW_HOME": "/not/an/option",
            "DO_NOT_TRACK": "1",
        },
    )
    assert cfg.read_text() == (
        "[core]\n# The key\nfernet_key = k=\n# load_examples = True\nload_examples = True\n\n"
        "dags_folder = /dags\n[database]\nsql_alchemy_conn = sqlite:////elsewhere.db\n"
        "\n[cosmos]\nenable_telemetry = False\n"
    )
    assert cfg.stat().st_mode & 0o777 == 0o600
