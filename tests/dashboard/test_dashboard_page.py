"""The dashboard against the marts: every figure on the page equals the mart value.

The marts are created from the dbt contract (``marts_fixture``) and filled with four tenants;
the page is rendered by ``write_dashboard`` and read back with an HTML parser. Expected values
are taken from the rows inserted (computed here in Python where the dashboard aggregates:
monthly sums, key counts, portfolio totals), never from the dashboard's own queries.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from html import escape

import psycopg
import pytest

from sendgrid_dashboard.queries import (
    CREDIT_PERIODS_SHOWN,
    RATE_DAYS_SHOWN,
    SEAT_WEEKS_SHOWN,
    VOLUME_MONTHS_SHOWN,
)

from .conftest import Rendered
from .marts_fixture import XSS_NAME, create_marts, month_start
from .page_reader import read_page, same

TENANT_IDS = ("acme_prod", "globex_eu", "initech", "xss_tenant")
CHARTS_PER_TENANT = 7


def _values(svg, series: str, tag: str = "rect") -> list[tuple[str, str]]:
    return [(el.data("label"), el.data("value")) for el in svg.find(tag, series=series)]


def test_portfolio_kpis_equal_overview_totals(rendered: Rendered) -> None:
    overview = rendered.rows["rpt_sendgrid_utilization_overview"]
    page = rendered.page
    expected = {
        "tenant_count": len(overview),
        "connected_count": sum(r["connection_status"] == "connected" for r in overview),
        "needs_reconnect_count": sum(r["connection_status"] == "needs_reconnect" for r in overview),
        "degraded_count": sum(r["connection_status"] == "degraded" for r in overview),
        "requests_30d": sum(r["requests_30d"] for r in overview),
        "credits_overage_count": sum(r["utilization_status"] == "overage" for r in overview),
        "credits_at_risk_count": sum(r["utilization_status"] == "at_risk" for r in overview),
        "features_used": sum(r["features_used"] for r in overview),
        "features_licensed": sum(r["features_licensed"] for r in overview),
        "downgrade_savings_usd": -sum(
            r["monthly_cost_change_usd"] for r in overview if r["recommendation"] == "downgrade"
        ),
        "downgrade_count": sum(r["recommendation"] == "downgrade" for r in overview),
        "last_successful_sync_at": max(r["last_successful_sync_at"] for r in overview),
    }
    for metric, value in expected.items():
        found = [el for el in page.find(metric=metric) if el.data("tenant") is None]
        assert found, metric
        for el in found:
            assert same(el.data("value"), value), (metric, el.data("value"), value)
    assert expected["needs_reconnect_count"] == 1
    assert expected["credits_overage_count"] == 1


def test_overview_figures_equal_the_overview_mart(rendered: Rendered) -> None:
    columns = (
        "credits_used_pct",
        "utilization_status",
        "seats_used_pct",
        "features_used",
        "features_licensed",
        "requests_30d",
        "bounce_rate_30d",
        "spam_report_rate_30d",
        "recommended_plan_name",
        "recommendation",
        "monthly_cost_change_usd",
    )
    for row in rendered.rows["rpt_sendgrid_utilization_overview"]:
        for col in columns:
            els = rendered.page.find(tenant=row["tenant_id"], metric=f"overview.{col}")
            assert els, (row["tenant_id"], col)
            for el in els:
                assert same(el.data("value"), row[col]), (row["tenant_id"], col, el.attrs)
        # The same figures repeated in the tenant's cards.
        for col in ("requests_30d", "bounce_rate_30d", "spam_report_rate_30d"):
            el = rendered.page.one(tenant=row["tenant_id"], metric=f"overview.{col}.card")
            assert same(el.data("value"), row[col])


def test_credit_periods_and_current_period_equal_plan_utilization(rendered: Rendered) -> None:
    for tid in TENANT_IDS:
        periods = sorted(
            rendered.mart("fct_sendgrid_plan_utilization", tenant_id=tid),
            key=lambda r: r["period_start_date"],
        )[-CREDIT_PERIODS_SHOWN:]
        svg = rendered.page.one("svg", tenant=tid, metric="credits_by_period")
        assert svg.data("chart") == "period"
        assert [v for _, v in _values(svg, "used")] == [str(p["credits_used"]) for p in periods]
        assert [el.data("status") for el in svg.find("rect", series="used")] == [
            p["utilization_status"] for p in periods
        ]
        assert [v for _, v in _values(svg, "total", "line")] == [
            str(p["credits_total"]) for p in periods
        ]
        current = next(p for p in periods if p["is_current_period"])
        projected = svg.find("rect", series="projected")
        if current["projected_credits_used"] > current["credits_used"]:
            assert len(projected) == 1
            assert same(projected[0].data("value"), current["projected_credits_used"])
        for col in (
            "credits_used",
            "credits_total",
            "credits_remain",
            "projected_used_pct",
            "days_until_exhausted",
            "daily_run_rate",
            "emails_requested",
            "utilization_status",
        ):
            el = rendered.page.one(tenant=tid, metric=f"period.{col}")
            assert same(el.data("value"), current[col]), (tid, col)
        gauge = rendered.page.one("svg", tenant=tid, metric="credits_used_pct")
        assert same(gauge.data("value"), current["credits_used_pct"])


def test_overage_tenant_shows_its_overage(rendered: Rendered) -> None:
    current = rendered.mart(
        "fct_sendgrid_plan_utilization", tenant_id="globex_eu", is_current_period=True
    )[0]
    assert current["utilization_status"] == "overage"
    assert current["credits_overage"] > 0
    el = rendered.page.one(tenant="globex_eu", metric="period.credits_overage")
    assert same(el.data("value"), current["credits_overage"])
    assert f"{current['credits_overage']:,}" in el.text
    bars = rendered.page.one("svg", tenant="globex_eu", metric="credits_by_period").find(
        "rect", series="used"
    )
    assert bars[-1].data("status") == "overage"


def test_monthly_volume_is_the_sum_of_daily_requests(rendered: Rendered) -> None:
    for tid in ("acme_prod", "globex_eu", "initech"):
        activity = rendered.mart("fct_sendgrid_email_activity_daily", tenant_id=tid)
        last = max(r["activity_date"] for r in activity)
        first = month_start(last, VOLUME_MONTHS_SHOWN - 1)
        sums: dict[tuple[dt.date, str], int] = defaultdict(int)
        for r in activity:
            if r["activity_date"] >= first:
                sums[(month_start(r["activity_date"]), r["sender_type"])] += r["requests"]
        months = sorted({m for m, _ in sums})
        assert len(months) == VOLUME_MONTHS_SHOWN
        svg = rendered.page.one("svg", tenant=tid, metric="monthly_requests")
        for series, sender in (("parent_requests", "parent"), ("subuser_requests", "subuser")):
            assert _values(svg, series) == [
                (m.isoformat(), str(sums.get((m, sender), 0))) for m in months
            ], (tid, series)


def test_deliverability_points_are_the_busiest_senders_daily_rates(rendered: Rendered) -> None:
    for tid in ("acme_prod", "globex_eu", "initech"):
        activity = rendered.mart("fct_sendgrid_email_activity_daily", tenant_id=tid)
        last = max(r["activity_date"] for r in activity)
        window = [r for r in activity if r["activity_date"] > last - dt.timedelta(RATE_DAYS_SHOWN)]
        volume: dict[tuple[str, str], int] = defaultdict(int)
        for r in window:
            volume[(r["sender_type"], r["subuser_username"])] += r["requests"]
        busiest = min(volume, key=lambda k: (-volume[k], k[0] != "parent", k[1]))
        days = sorted(
            (r for r in window if (r["sender_type"], r["subuser_username"]) == busiest),
            key=lambda r: r["activity_date"],
        )
        delivery = rendered.page.one("svg", tenant=tid, metric="delivery_rate")
        rates = rendered.page.one("svg", tenant=tid, metric="bounce_spam_rates")
        for svg, col in (
            (delivery, "delivery_rate"),
            (rates, "bounce_rate"),
            (rates, "spam_report_rate"),
        ):
            shown = _values(svg, col, "circle")
            expected = [
                (r["activity_date"].isoformat(), r[col]) for r in days if r[col] is not None
            ]
            assert len(shown) == len(expected), (tid, col)
            for (label, text), (day, value) in zip(shown, expected, strict=True):
                assert label == day
                assert same(text, value), (tid, col, day, text, value)


def test_null_rates_render_as_gaps_not_zeros(rendered: Rendered) -> None:
    overview = rendered.mart("rpt_sendgrid_utilization_overview", tenant_id="xss_tenant")[0]
    assert overview["bounce_rate_30d"] is None
    assert (
        rendered.page.one(tenant="xss_tenant", metric="overview.bounce_rate_30d").data("value")
        == ""
    )
    assert "—" in rendered.page.one(tenant="xss_tenant", metric="overview.bounce_rate_30d").text
    for metric in ("delivery_rate", "bounce_spam_rates"):
        svg = rendered.page.one("svg", tenant="xss_tenant", metric=metric)
        assert svg.data("points") == "0"
        assert svg.find("circle") == []
        assert "No" in svg.text
    # A sender-day with nothing requested (acme-news, 5% of days) is a gap, not a zero.
    acme = rendered.page.one("svg", tenant="acme_prod", metric="delivery_rate")
    assert all(el.data("value") != "" for el in acme.find("circle"))


def test_seats_equal_the_seat_mart(rendered: Rendered) -> None:
    for tid in TENANT_IDS:
        seats = rendered.mart("fct_sendgrid_seat_utilization", tenant_id=tid)
        latest = next(s for s in seats if s["is_latest_day"])
        for col in (
            "seats_used",
            "seat_limit",
            "seats_used_pct",
            "owner_count",
            "pending_invites_valid",
            "pending_invites_expired",
            "subusers_total",
            "subusers_active_30d",
            "subusers_inactive_30d",
            "subusers_disabled",
        ):
            el = rendered.page.one(tenant=tid, metric=f"seats.{col}")
            assert same(el.data("value"), latest[col]), (tid, col)
        sampled = sorted(
            (
                s
                for s in seats
                if (latest["seat_date"] - s["seat_date"]).days % 7 == 0
                and (latest["seat_date"] - s["seat_date"]).days < 7 * SEAT_WEEKS_SHOWN
            ),
            key=lambda s: s["seat_date"],
        )
        svg = rendered.page.one("svg", tenant=tid, metric="seats_by_role")
        for col in ("admin_count", "teammate_count"):
            assert _values(svg, col) == [(s["seat_date"].isoformat(), str(s[col])) for s in sampled]
    # Globex: two seats on a one-seat plan; the limit line is drawn.
    globex = rendered.page.one("svg", tenant="globex_eu", metric="seats_by_role")
    assert same(globex.find("line", series="limit")[0].data("value"), 1)


def test_feature_grid_equals_feature_adoption(rendered: Rendered) -> None:
    for row in rendered.rows["fct_sendgrid_feature_adoption"]:
        tile = rendered.page.one(
            tenant=row["tenant_id"], metric="feature", feature=row["feature_code"]
        )
        assert same(tile.data("licensed"), row["is_licensed"])
        assert same(tile.data("used"), row["is_used"])
        assert same(tile.data("value"), row["usage_count"])
        assert same(tile.data("limit"), row["usage_limit"])
        expected_state = (
            "used"
            if row["is_used"]
            else {True: "unused_paid", False: "not_licensed", None: "unknown"}[row["is_licensed"]]
        )
        assert tile.data("state") == expected_state
        assert row["feature_name"] in tile.text


def test_api_key_risk_counts_the_key_dimension(rendered: Rendered) -> None:
    for tid in TENANT_IDS:
        keys = rendered.mart("dim_sendgrid_api_keys", tenant_id=tid)
        active = [k for k in keys if not k["is_deleted"]]
        expected = {
            "total_keys": len(keys),
            "active_keys": len(active),
            "full_access_keys": sum(1 for k in active if k["has_full_access"]),
            "deleted_keys": sum(1 for k in keys if k["is_deleted"]),
        }
        for metric, value in expected.items():
            assert same(
                rendered.page.one(tenant=tid, metric=f"api_keys.{metric}").data("value"), value
            ), (tid, metric)
    assert "Terraform admin" in rendered.html  # the full-access key is named


def test_health_and_recommendation_equal_their_marts(rendered: Rendered) -> None:
    for row in rendered.rows["fct_sendgrid_connection_health"]:
        tid = row["tenant_id"]
        for col in (
            "connection_status",
            "missing_scope_stream_count",
            "not_licensed_stream_count",
            "ok_stream_count",
            "last_success_at",
            "streams_missing_scopes",
            "streams_not_licensed",
        ):
            el = rendered.page.one(tenant=tid, metric=f"health.{col}")
            assert same(el.data("value"), row[col]), (tid, col)
        for col in ("status_since_at", "data_age_hours"):
            el = rendered.page.one(tenant=tid, metric=f"health.{col}.card")
            assert same(el.data("value"), row[col]), (tid, col)
    for row in rendered.rows["fct_sendgrid_plan_recommendation"]:
        tid = row["tenant_id"]
        for col in (
            "current_monthly_price_usd",
            "peak_monthly_requests",
            "p95_monthly_requests",
            "required_monthly_emails",
            "months_observed",
            "recommended_plan_name",
            "recommended_monthly_price_usd",
            "monthly_cost_change_usd",
            "recommendation",
            "seats_used",
        ):
            el = rendered.page.one(tenant=tid, metric=f"rec.{col}")
            assert same(el.data("value"), row[col]), (tid, col)
    acme = rendered.page.one(tenant="acme_prod", metric="rec.monthly_cost_change_usd")
    assert "Saves $159.05 / month" in acme.text  # a downgrade: the change is negative
    globex = rendered.page.one(tenant="globex_eu", metric="rec.monthly_cost_change_usd")
    assert "Costs $214.05 more / month" in globex.text  # an upgrade never reads as a saving


def test_suppressions_equal_the_monthly_mart(rendered: Rendered) -> None:
    rows = rendered.mart("fct_sendgrid_suppressions_monthly", tenant_id="globex_eu")
    last = max(r["suppression_month"] for r in rows)
    months = sorted({r["suppression_month"] for r in rows})[-12:]
    svg = rendered.page.one("svg", tenant="globex_eu", metric="new_suppressions")
    for kind in ("bounce", "spam_report"):
        by_month = {r["suppression_month"]: r for r in rows if r["suppression_kind"] == kind}
        assert _values(svg, kind) == [
            (m.isoformat(), str(by_month[m]["new_suppressions"])) for m in months
        ]
        el = rendered.page.one(tenant="globex_eu", metric=f"suppressions.cumulative.{kind}")
        assert same(el.data("value"), by_month[last]["cumulative_suppressions"])


def test_needs_reconnect_is_prominent_with_the_connections_link(rendered: Rendered) -> None:
    page = rendered.page
    alerts = page.find(alert="needs_reconnect")
    assert {a.data("tenant") for a in alerts} == {"initech"}
    assert len(alerts) == 2  # page-top alert and the tenant's banner
    for alert in alerts:
        assert "/sendgrid/connections" in [a.attrs.get("href") for a in alert.find("a")]
    section = page.one("section", tenant="initech")
    assert "needs_reconnect" in section.attrs["class"]
    health = rendered.mart("fct_sendgrid_connection_health", tenant_id="initech")[0]
    assert health["last_error"] in section.text
    # The page-top alert comes before the first tenant section.
    assert rendered.html.index('data-alert="needs_reconnect"') < rendered.html.index("<section")


def test_every_tenant_has_its_section_and_charts(rendered: Rendered) -> None:
    page = rendered.page
    assert [s.data("tenant") for s in page.find("section")] == [
        r["tenant_id"]
        for r in sorted(
            rendered.rows["rpt_sendgrid_utilization_overview"],
            key=lambda r: (-r["requests_30d"], r["display_name"]),
        )
    ]
    charts = page.find("svg")
    assert len(charts) == CHARTS_PER_TENANT * len(TENANT_IDS)
    assert {c.data("tenant") for c in charts} == set(TENANT_IDS)
    # Every tenant-scoped figure names a real tenant.
    assert {el.data("tenant") for el in page.find() if el.data("tenant")} == set(TENANT_IDS)


def test_no_external_resource_and_no_script(rendered: Rendered) -> None:
    html = rendered.html
    assert not re.search(r"https?://", html, re.IGNORECASE)
    assert "@import" not in html
    assert "url(" not in html
    page = rendered.page
    assert not {"script", "iframe", "img", "link", "object", "embed"} & set(page.tags)
    for el in page.find():
        assert "src" not in el.attrs, el
        assert not any(k.startswith("on") for k in el.attrs), el
        href = el.attrs.get("href")
        if href is not None:
            assert href.startswith("#") or href == "/sendgrid/connections", href


def test_mart_text_is_escaped(rendered: Rendered) -> None:
    html = rendered.html
    assert XSS_NAME not in html
    assert escape(XSS_NAME) in html
    section = rendered.page.one("section", tenant="xss_tenant")
    assert section.find("h2")[0].text == XSS_NAME
    # The key name and the missing scopes are text, not markup.
    assert "<img src=x onerror=alert(1)>" in "".join(rendered.page.texts)
    assert "<b>templates.read</b>" in "".join(rendered.page.texts)
    assert "onerror" not in {k for el in rendered.page.find() for k in el.attrs}


def test_empty_marts_render_a_helpful_page(pg_database, tmp_path) -> None:
    from sendgrid_dashboard import write_dashboard

    with psycopg.connect(pg_database.conninfo()) as conn:
        create_marts(conn)
    path = write_dashboard(pg_database.conninfo(), tmp_path / "empty.html")
    page = read_page(path.read_text())
    assert page.one(metric="tenant_count").data("value") == "0"
    assert page.find("svg") == []
    assert "No SendGrid organization yet" in "".join(page.texts)


def test_cli_writes_the_file_and_prints_its_path(pg_database, tmp_path, capsys) -> None:
    from sendgrid_dashboard.__main__ import main

    with psycopg.connect(pg_database.conninfo()) as conn:
        create_marts(conn)
    out = tmp_path / "cli" / "dash.html"
    assert main(["--conninfo", pg_database.conninfo(), "--output", str(out)]) == 0
    assert out.is_file()
    assert str(out.resolve()) in capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("0.123"), "12.3%"), (0.0004, "0.04%"), (1, "100%"), (0, "0%"), (0.00001, "<0.01%")],
)
def test_fmt_pct(value, text) -> None:
    from sendgrid_dashboard.charts import fmt_pct

    assert fmt_pct(value) == text
