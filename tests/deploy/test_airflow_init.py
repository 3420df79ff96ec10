"""``deploy/airflow-init.sh`` refuses a deployment whose secrets are still placeholders.

Every Airflow service of the compose file waits for this init, so a refusal here starts
nothing. The script runs for real with ``airflow``, ``mkdir`` and ``chown`` stubbed on ``PATH``.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .deploy_helpers import ENV_EXAMPLE, REPO_ROOT, compose_services, read_env_file

SCRIPT = REPO_ROOT / "deploy/airflow-init.sh"


def _stubs(tmp_path: Path) -> Path:
    """A PATH folder: ``airflow`` records its calls, ``mkdir``/``chown`` do nothing, ``python``
    is this interpreter (it has ``cryptography``, like the image)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "airflow-calls"
    scripts = {
        "airflow": f'#!/bin/sh\necho "$*" >> "{calls}"\n',
        "mkdir": "#!/bin/sh\nexit 0\n",
        "chown": "#!/bin/sh\nexit 0\n",
        "python": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n',
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def _run(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": f"{_stubs(tmp_path)}:/usr/bin:/bin", "HOME": str(tmp_path)}
    base["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(tmp_path / "passwords.json")
    return subprocess.run(["bash", str(SCRIPT)], env={**base, **env}, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def _init_secrets(compose: dict) -> list[str]:
    init = compose_services(compose)["airflow-init"]["environment"]
    return [k for k in init if "__" not in k and k.endswith(("PASSWORD", "SECRET", "SECRET_KEY"))]


def _strong(compose: dict) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {name: secrets.token_urlsafe(32) for name in _init_secrets(compose)}
    return {**env, "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode()}


def test_the_example_placeholders_start_nothing(compose: dict, tmp_path: Path) -> None:
    """``.env.example`` copied as it is: the init fails before migrating, naming each secret."""
    example = read_env_file(ENV_EXAMPLE)
    env = {k: example[k] for k in _init_secrets(compose)}
    out = _run(tmp_path, {**env, "AIRFLOW__CORE__FERNET_KEY": example["AIRFLOW_FERNET_KEY"]})
    assert out.returncode != 0
    assert "refusing to start" in out.stderr
    for name in env:
        assert name in out.stderr
    assert not (tmp_path / "airflow-calls").exists(), "nothing may run before the check"
    assert "change-me" not in out.stderr + out.stdout


@pytest.mark.parametrize("weak", ["change-me", "admin", ""])
def test_one_weak_secret_is_named(compose: dict, tmp_path: Path, weak: str) -> None:
    env = {**_strong(compose), "REDIS_PASSWORD": weak}
    out = _run(tmp_path, env)
    assert out.returncode != 0
    assert "REDIS_PASSWORD" in out.stderr
    assert "AIRFLOW_DB_PASSWORD" not in out.stderr


def test_a_malformed_fernet_key_is_refused(compose: dict, tmp_path: Path) -> None:
    out = _run(tmp_path, {**_strong(compose), "AIRFLOW__CORE__FERNET_KEY": "change-me"})
    assert out.returncode != 0
    assert "AIRFLOW_FERNET_KEY is not a Fernet key" in out.stderr


def test_strong_secrets_migrate_and_write_the_admin_password(compose: dict, tmp_path: Path) -> None:
    env = _strong(compose)
    out = _run(tmp_path, env)
    assert out.returncode == 0, out.stderr
    calls = (tmp_path / "airflow-calls").read_text().splitlines()
    assert "db migrate" in calls
    passwords = (tmp_path / "passwords.json").read_text()
    assert env["AIRFLOW_ADMIN_PASSWORD"] in passwords
    assert env["AIRFLOW_ADMIN_PASSWORD"] not in out.stdout + out.stderr
    assert oct(os.stat(tmp_path / "passwords.json").st_mode & 0o777) == "0o640"


def test_published_ports_default_to_loopback(compose_raw: dict) -> None:
    """The API server and Metabase speak plain HTTP: published on loopback unless the operator
    chooses otherwise (a TLS proxy in front, docs/deploy.md)."""
    for name, svc in compose_raw["services"].items():
        for port in svc.get("ports", []):
            host = port.rsplit(":", 1)[0]
            assert "127.0.0.1:" in host, f"{name} publishes {port} on every interface by default"
    example = read_env_file(ENV_EXAMPLE)
    for key in ("AIRFLOW_API_PORT", "METABASE_PORT", "WAREHOUSE_PORT"):
        assert example[key].startswith("127.0.0.1:"), key


def test_the_admin_password_stays_with_the_api_server_and_init(compose: dict) -> None:
    """Workers list connections as ``sendgrid_discovery`` (role op), never as the admin, and
    only the API server and init mount the simple auth manager's passwords file."""
    from urllib.parse import urlsplit

    services = compose_services(compose)
    example = read_env_file(ENV_EXAMPLE)
    for name, svc in services.items():
        env = svc.get("environment") or {}
        mounts = [v.split(":")[0] for v in svc.get("volumes") or []]
        if name != "airflow-init":
            assert "AIRFLOW_ADMIN_PASSWORD" not in env, name
        if "airflow-auth" in mounts:
            assert name in ("airflow-apiserver", "airflow-init"), name
        api = env.get("AIRFLOW_CONN_SENDGRID_AIRFLOW_API")
        if api:
            user = urlsplit(api).username
            roles = dict(u.split(":") for u in env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]
                         .split(","))  # fmt: skip
            assert roles[user] == "op", name
            assert user != example["AIRFLOW_ADMIN_USERNAME"]
    simulator = services["sendgrid-simulator"].get("environment") or {}
    assert not [k for k in simulator if re.search("PASSWORD|SECRET|FERNET|CONN", k)]
    assert "airflow-auth" in [v.split(":")[0] for v in services["airflow-apiserver"]["volumes"]]
