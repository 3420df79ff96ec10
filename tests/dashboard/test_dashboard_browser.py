"""The dashboard in a real headless browser (Debian's chromium driven by playwright).

No console or page error, no network request (the file works offline), every chart laid out
with a non-zero box and something drawn, and a full-page screenshot in
``test-artifacts/dashboard.png`` (git-ignored) to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sendgrid_dashboard.browser import open_dashboard

from .conftest import Rendered
from .test_dashboard_page import CHARTS_PER_TENANT

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.usefixtures("chromium")


def test_dashboard_renders_in_headless_chromium(rendered: Rendered) -> None:
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    report = open_dashboard(rendered.path, shot)

    assert report.console_errors == []
    assert report.page_errors == []
    assert report.external_requests == []
    assert report.requests == [rendered.path.resolve().as_uri()]

    tenants = {r["tenant_id"] for r in rendered.rows["dim_sendgrid_tenants"]}
    assert len(report.charts) == CHARTS_PER_TENANT * len(tenants)
    for chart in report.charts:
        assert chart["width"] > 100, chart
        assert chart["height"] > 50, chart
        assert chart["tenant"] in tenants, chart
    drawn = [c for c in report.charts if c["points"] > 0]
    assert all(c["drawn"] > 0 for c in drawn), [c for c in drawn if not c["drawn"]]
    kinds = {c["chart"] for c in drawn}
    assert kinds == {"period", "gauge", "bar", "line"}
    # Charts with data for the busy tenant: all seven.
    assert sum(1 for c in drawn if c["tenant"] == "acme_prod") == CHARTS_PER_TENANT

    assert report.page_height > 2000
    assert shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
