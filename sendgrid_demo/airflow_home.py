"""The demo's isolated Airflow home (git-ignored, under ``.local/demo/airflow``).

Airflow reads its configuration from the environment when it is first imported, so
:func:`configure` must run before anything imports ``airflow``. :func:`configure` also writes
the same settings into the home's ``airflow.cfg`` (:func:`pin_config`), so the CLI run from a
plain shell (``AIRFLOW_HOME=.local/demo/airflow .venv/bin/airflow connections add ...``) uses the
demo's metadata database and Fernet key: the credentials it stores are encrypted and readable by
the demo.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from sendgrid_elt.settings import API_POOL, API_POOL_SLOTS, DAGS_DIR, LOCAL_DIR, PROJECT_ROOT

DEMO_DIR = LOCAL_DIR / "demo"
AIRFLOW_HOME = DEMO_DIR / "airflow"
ADMIN_USER = "admin"
#: Where the demo's alerts go (the local mail sink keeps them).
DEMO_ALERT_RECIPIENTS = "sendgrid-admins@example.com"
#: Nothing phones home: Cosmos, dbt and Scarf-instrumented packages stay offline.
NO_TELEMETRY = {
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
}


def _fernet_key(home: Path) -> str:
    """A Fernet key kept in the demo home, so encrypted values survive between runs."""
    path = home / "fernet.key"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def admin_password(home: Path = AIRFLOW_HOME) -> str:
    """The demo admin's password: random, made once, kept in the demo home (0600).

    Airflow's simple auth manager reads it from ``passwords.json``; ``make airflow`` prints it.
    """
    path = home / "passwords.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if not stored.get(ADMIN_USER):
        home.mkdir(parents=True, exist_ok=True)
        stored[ADMIN_USER] = secrets.token_urlsafe(12)
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
    return str(stored[ADMIN_USER])


def airflow_environment(home: Path = AIRFLOW_HOME) -> dict[str, str]:
    """Environment variables of the demo's Airflow (metadata in SQLite inside ``home``)."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__FERNET_KEY": _fernet_key(home),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        **NO_TELEMETRY,
    }


def configure(home: Path = AIRFLOW_HOME) -> dict[str, str]:
    """Export the demo's Airflow environment into this process and migrate its database."""
    env = airflow_environment(home)
    admin_password(home)  # before any Airflow process reads the passwords file
    os.environ.update(env)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    pin_config(home / "airflow.cfg", env)  # `airflow db migrate` wrote it if it was missing
    _ensure_pool()
    return env


_HEADER = re.compile(r"^\[([^\]]+)\]\s*$")
_OPTION = re.compile(r"^([A-Za-z0-9_.-]+)\s*=")


def pin_config(path: Path, env: dict[str, str]) -> None:
    """Write each ``AIRFLOW__<SECTION>__<KEY>`` of ``env`` into the ``airflow.cfg`` at ``path``.

    Options already there get the value (comments and the other lines are kept), missing ones
    are added to their section, missing sections at the end. The file stays private (0600): it
    holds the Fernet key.
    """
    todo: dict[tuple[str, str], str] = {}
    for name, value in env.items():
        parts = name.split("__")
        if len(parts) == 3 and parts[0] == "AIRFLOW" and all(parts[1:]):
            todo[(parts[1].lower(), parts[2].lower())] = value
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    out: list[str] = []

    def add_rest_of(section: str | None) -> None:
        for sec, key in [k for k in todo if k[0] == section]:
            out.append(f"{key} = {todo.pop((sec, key))}\n")

    section = None
    for line in lines:
        header, option = _HEADER.match(line), _OPTION.match(line)
        if header:
            add_rest_of(section)
            section = header.group(1).strip().lower()
        elif option and (section, option.group(1).lower()) in todo:
            line = f"{option.group(1)} = {todo.pop((section, option.group(1).lower()))}\n"
        out.append(line)
    add_rest_of(section)
    for sec in dict.fromkeys(k[0] for k in todo):
        out.append(f"\n[{sec}]\n")
        add_rest_of(sec)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(out))


def _ensure_pool() -> None:
    """The pool that caps concurrent SendGrid API work (the extract DAG's tasks use it)."""
    from airflow.models import Pool

    Pool.create_or_update_pool(
        API_POOL,
        slots=API_POOL_SLOTS,
        description="Concurrent SendGrid API work",
        include_deferred=False,
    )
