"""The connection form metadata and the Test button, through Airflow itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.hook.conftest import api_key_conn, conn_env


def test_form_metadata_from_hook_meta_service(airflow_home: Any) -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    meta = next(m for m in HookMetaService.hook_meta_data() if m.connection_type == "sendgrid")
    assert meta.hook_name == "SendGrid"
    std = meta.standard_fields
    assert std.password.title == "API key"
    assert std.host.title == "Base URL override"
    assert std.login.hidden
    assert std.port.hidden
    extra = meta.extra_fields
    assert extra["auth_type"]["schema"]["enum"] == ["api_key", "oauth2"]
    assert extra["region"]["schema"]["enum"] == ["global", "eu"]
    for secret in ("client_secret", "refresh_token"):
        assert extra[secret]["schema"]["format"] == "password"
    assert {"client_id", "token_url", "oauth_scopes", "subusers", "display_name"} <= set(extra)


def _cli_tests(conns: dict[str, dict[str, Any]]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run ``airflow connections test`` for each connection, in parallel processes."""
    procs = {
        conn_id: subprocess.Popen(
            [sys.executable, "-m", "airflow", "connections", "test", conn_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, conn_env(conn_id): json.dumps(body)},
        )
        for conn_id, body in conns.items()
    }
    done = {}
    for conn_id, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        done[conn_id] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


def test_cli_test_button(airflow_home: Any, sim: Any, tenant: dict) -> None:
    keys = tenant["api_keys"]
    runs = _cli_tests(
        {
            "sg_cli_ok": api_key_conn(sim, keys["full"]),
            "sg_cli_bad": api_key_conn(sim, "SG.not-a-real-key.abcdefghijklmnop"),
            "sg_cli_scopes": api_key_conn(sim, keys["restricted"]),
        }
    )
    ok, bad, missing = runs["sg_cli_ok"], runs["sg_cli_bad"], runs["sg_cli_scopes"]
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Connection success!" in ok.stdout

    assert bad.returncode != 0
    assert "Connection failed!" in bad.stdout
    assert "SendGrid refused the credential (api_key_rejected)" in bad.stdout
    assert "not-a-real-key" not in bad.stdout + bad.stderr

    assert missing.returncode != 0
    assert "missing 3 required scopes" in missing.stdout
    for scope in keys["restricted_missing_scopes"]:
        assert scope in missing.stdout
    for output in (ok, bad, missing):
        assert keys["full"] not in output.stdout + output.stderr
        assert keys["restricted"] not in output.stdout + output.stderr
