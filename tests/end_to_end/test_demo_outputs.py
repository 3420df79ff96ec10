"""What the demo shows comes from the marts: the printed summary, the dashboard, in a browser."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from sendgrid_dashboard import write_dashboard
from sendgrid_dashboard.browser import open_dashboard
from sendgrid_demo.summary import (
    UNKNOWN,
    format_table,
    money_change,
    pct,
    ratio,
    read_overview,
)
from sendgrid_elt.settings import MARTS_SCHEMA
from tests.dashboard.figures import check_figures
from tests.dashboard.page_reader import read_page

from .conftest import TENANTS, PipelineRun, query

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_summary_prints_the_overview_mart(pipeline: PipelineRun) -> None:
    rows = read_overview(pipeline.target.conninfo())
    mart = {
        r["tenant_id"]: r
        for r in query(
            pipeline.target, "select * from sendgrid_marts.rpt_sendgrid_utilization_overview"
        )
    }
    assert {r.values["tenant_id"] for r in rows} == set(TENANTS) == set(mart)
    table = format_table(rows)
    for row in rows:
        m = mart[row.values["tenant_id"]]
        assert row.cells["volume"] == f"{m['requests_30d']:,}"
        assert row.cells["credits"].startswith(pct(m["credits_used_pct"]))
        assert row.cells["seats"] == pct(m["seats_used_pct"])
        assert row.cells["bounce"] == ratio(m["bounce_rate_30d"])
        features = f"{m['features_used']}/{m['features_licensed']}"
        assert row.cells["features"] == (UNKNOWN if m["features_licensed"] is None else features)
        assert row.cells["connection_status"].startswith(m["connection_status"])
        assert row.cells["cost_change"] == money_change(m["monthly_cost_change_usd"])
        assert row.cells["display_name"] in table


def test_dashboard_figures_equal_the_marts(pipeline: PipelineRun, tmp_path: Path) -> None:
    """Every figure of the dashboard equals a query on the rpt_ models dbt built."""
    path = write_dashboard(pipeline.target.conninfo(), tmp_path / "dashboard.html")
    page = read_page(path.read_text())

    def sql(statement: str, **params: object) -> list[dict[str, object]]:
        with psycopg.connect(pipeline.target.conninfo(), row_factory=dict_row) as conn:
            return conn.execute(statement.replace("{schema}", MARTS_SCHEMA), params).fetchall()

    checked = check_figures(page, sql)
    assert {"portfolio", "overview", "period", "seats", "rec", "health"} <= set(checked), checked
    tenants = {
        r["tenant_id"]
        for r in sql("select tenant_id from {schema}.rpt_sendgrid_utilization_overview")
    }
    assert tenants == set(TENANTS)
    for tid in tenants:
        found = page.root.find(tenant=tid, metric="period.credits_used")
        assert found, tid


def test_real_dashboard_renders_in_chromium(
    pipeline: PipelineRun, chromium: Path, tmp_path: Path
) -> None:
    path = write_dashboard(pipeline.target.conninfo(), tmp_path / "dashboard.html")
    shot = ARTIFACTS / "end_to_end_dashboard.png"
    report = open_dashboard(path, shot)
    assert report.console_errors == []
    assert report.page_errors == []
    assert report.external_requests == []
    assert len(report.charts) >= 6 * len(TENANTS)
    assert all(c["width"] > 0 and c["height"] > 0 for c in report.charts)
    assert shot.stat().st_size > 10_000
