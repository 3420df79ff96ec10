"""The demo's dashboard links its reconnect alerts to the Connect page of ``make airflow``.

Before, ``make demo`` and ``make dashboard`` wrote "Set the Airflow Variable ... to make this a
link" while the demo's alert e-mails linked to ``http://localhost:8080/sendgrid/connections``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sendgrid_hook.constants import CONNECT_PAGE_PATH

from sendgrid_demo.airflow_ui import ui_url

from .conftest import Rendered
from .page_reader import read_page

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Airflow base URL in the environment: the demo's own must make the links."""
    from sendgrid_dashboard.render import BASE_URL_ENV

    for name in BASE_URL_ENV:
        monkeypatch.delenv(name, raising=False)


def test_demo_dashboard_links_to_the_demo_uis_connect_page(
    rendered: Rendered, tmp_path: Path, no_base_url: None
) -> None:
    from sendgrid_demo.main import write_demo_dashboard

    html = write_demo_dashboard(rendered.conninfo, tmp_path / "dashboard.html").read_text()
    expected = f"{ui_url()}{CONNECT_PAGE_PATH}?tenant=initech"
    alerts = read_page(html).find(alert="needs_reconnect")
    assert alerts
    for alert in alerts:
        assert expected in [a.attrs.get("href") for a in alert.find("a")]
        assert alert.find(reconnect="unconfigured") == []
    assert "to make this a link" not in html


def test_make_dashboard_passes_the_demo_uis_base_url() -> None:
    out = subprocess.run(
        ["make", "-n", "dashboard"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r'--connect-base-url ("[^\n]*")', out)
    assert found, out
    value = subprocess.run(
        ["bash", "-c", f"printf %s {found.group(1)}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert value == ui_url()
