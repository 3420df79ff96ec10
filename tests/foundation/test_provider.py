"""The local provider is installed and registers the ``sendgrid`` connection type."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points


def test_provider_entry_point_is_installed() -> None:
    eps = entry_points(group="apache_airflow_provider")
    providers = {ep.dist.name: ep for ep in eps if ep.dist is not None}
    assert "sendgrid-hook" in providers
    info = providers["sendgrid-hook"].load()()
    assert info["package-name"] == "sendgrid-hook"
    assert [c["connection-type"] for c in info["connection-types"]] == ["sendgrid"]


def test_airflow_providers_hooks_lists_sendgrid(airflow_home) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "hooks", "--output", "json"],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    ).stdout
    json_line = next(line for line in out.splitlines() if line.startswith("[{"))
    hooks = json.loads(json_line)
    rows = [r for r in hooks if r.get("connection_type") == "sendgrid"]
    assert rows, "conn type 'sendgrid' not listed by `airflow providers hooks`"
    assert rows[0]["class"] == "sendgrid_hook.hooks.sendgrid.SendGridHook"
    assert rows[0]["package_name"] == "sendgrid-hook"
