"""The dashboard against the reporting models: every figure on the page equals a SQL query.

The ``rpt_sendgrid_*`` tables are created from the dbt contract (``marts_fixture``) and filled
with five tenants (``reporting_fixture``); the page is rendered by ``write_dashboard`` and read
back with an HTML parser. Expected values come from ``select`` queries on those tables, never
from the dashboard's own code.
"""

from __future__ import annotations

import pytest

from sendgrid_elt.settings import CONNECT_BASE_URL_VARIABLE, CONNECT_PAGE_PATH

from .conftest import Rendered
from .figures import ROW_OF, check_figures
from .page_reader import read_page, same
from .reporting_fixture import NEW_STATUS_TEXT, NEW_TENANT

CHARTS_PER_TENANT = 7


def _tenants(rendered: Rendered, *, with_data: bool | None = None) -> list[str]:
    rows = rendered.sql(
        "select tenant_id from {schema}.rpt_sendgrid_utilization_overview "
        "where %(any)s or has_data = %(has_data)s order by display_order",
        any=with_data is None,
        has_data=bool(with_data),
    )
    return [r["tenant_id"] for r in rows]


def _values(svg, series: str, tag: str = "rect") -> list[tuple[str, str]]:
    return [(el.data("label"), el.data("value")) for el in svg.find(tag, series=series)]


def test_every_figure_equals_a_query_on_the_reporting_models(rendered: Rendered) -> None:
    checked = check_figures(rendered.page, rendered.sql)
    assert set(checked) == {"portfolio", *ROW_OF}, checked
    assert sum(checked.values()) > 300, checked


def test_tenant_sections_follow_the_display_order(rendered: Rendered) -> None:
    assert [s.data("tenant") for s in rendered.page.find("section")] == _tenants(rendered)
    assert [r.data("tenant") for r in rendered.page.find("tr") if r.data("tenant")] == _tenants(
        rendered
    )


def test_credit_periods_chart_equals_the_credit_periods_model(rendered: Rendered) -> None:
    for tid in _tenants(rendered, with_data=True):
        rows = rendered.sql(
            "select credits_used, credits_total, utilization_status, is_current_period, "
            "projected_credits_used, credits_used_pct from {schema}.rpt_sendgrid_credit_periods "
            "where tenant_id = %s order by period_start_date",
            tid,
        )
        svg = rendered.page.one("svg", tenant=tid, metric="credits_by_period")
        assert [v for _, v in _values(svg, "used")] == [str(r["credits_used"]) for r in rows]
        assert [el.data("status") for el in svg.find("rect", series="used")] == [
            r["utilization_status"] for r in rows
        ]
        assert [v for _, v in _values(svg, "total", "line")] == [
            str(r["credits_total"]) for r in rows
        ]
        current = next(r for r in rows if r["is_current_period"])
        projected = svg.find("rect", series="projected")
        if current["projected_credits_used"] > current["credits_used"]:
            assert [p.data("value") for p in projected] == [str(current["projected_credits_used"])]
        gauge = rendered.page.one("svg", tenant=tid, metric="credits_used_pct")
        assert same(gauge.data("value"), current["credits_used_pct"])


def test_overage_is_shown_with_its_projected_cost(rendered: Rendered) -> None:
    rows = rendered.sql("select * from {schema}.rpt_sendgrid_overage_forecast order by tenant_id")
    assert "globex_eu" in [r["tenant_id"] for r in rows if r["is_over_plan"]]
    alerts = rendered.page.find(alert="overage")
    assert sorted(a.data("tenant") for a in alerts) == [r["tenant_id"] for r in rows]
    for row in rows:
        alert = next(a for a in alerts if a.data("tenant") == row["tenant_id"])
        assert row["alert_text"] in alert.text
        assert f"${row['projected_overage_cost_usd']:,.2f}" in alert.text
        assert row["projection_confidence"] in alert.text
    bars = rendered.page.one("svg", tenant="globex_eu", metric="credits_by_period")
    assert bars.find("rect", series="used")[-1].data("status") == "overage"


def test_monthly_volume_chart_equals_the_volume_model(rendered: Rendered) -> None:
    for tid in _tenants(rendered, with_data=True):
        rows = rendered.sql(
            "select activity_month, parent_requests, subuser_requests, is_month_to_date "
            "from {schema}.rpt_sendgrid_monthly_volume where tenant_id = %s order by 1",
            tid,
        )
        svg = rendered.page.one("svg", tenant=tid, metric="monthly_requests")
        for series in ("parent_requests", "subuser_requests"):
            assert _values(svg, series) == [
                (r["activity_month"].isoformat(), str(r[series])) for r in rows
            ], (tid, series)
        if rows[-1]["is_month_to_date"]:
            assert "*" in svg.text


def test_deliverability_points_equal_the_deliverability_model(rendered: Rendered) -> None:
    for tid in _tenants(rendered, with_data=True):
        rows = rendered.sql(
            "select * from {schema}.rpt_sendgrid_deliverability_daily where tenant_id = %s "
            "order by activity_date",
            tid,
        )
        delivery = rendered.page.one("svg", tenant=tid, metric="delivery_rate")
        rates = rendered.page.one("svg", tenant=tid, metric="bounce_spam_rates")
        for svg, col in (
            (delivery, "delivery_rate"),
            (rates, "bounce_rate"),
            (rates, "spam_report_rate"),
        ):
            expected = [
                (r["activity_date"].isoformat(), r[col]) for r in rows if r[col] is not None
            ]
            shown = _values(svg, col, "circle")
            assert len(shown) == len(expected), (tid, col)
            for (label, text), (day, value) in zip(shown, expected, strict=True):
                assert label == day
                assert same(text, value), (tid, col, day, text, value)
    # A tenant that requested nothing: no point, a message instead of zeros.
    svg = rendered.page.one("svg", tenant="xss_tenant", metric="delivery_rate")
    assert svg.data("points") == "0"
    assert svg.find("circle") == []
    assert "nothing requested" in svg.text


def test_seats_chart_and_seat_activity_windows(rendered: Rendered) -> None:
    for tid in _tenants(rendered, with_data=True):
        rows = rendered.sql(
            "select seat_date, admin_count, teammate_count from {schema}.rpt_sendgrid_seat_weeks "
            "where tenant_id = %s order by seat_date",
            tid,
        )
        svg = rendered.page.one("svg", tenant=tid, metric="seats_by_role")
        for col in ("admin_count", "teammate_count"):
            assert _values(svg, col) == [(r["seat_date"].isoformat(), str(r[col])) for r in rows]
    globex = rendered.page.one("svg", tenant="globex_eu", metric="seats_by_role")
    assert same(globex.find("line", series="limit")[0].data("value"), 1)
    # Teammates and subusers, each in the 30/60/90-day windows.
    kinds = rendered.sql(
        "select tenant_id, seat_kind from {schema}.rpt_sendgrid_seat_activity order by 1, 2"
    )
    assert {k["seat_kind"] for k in kinds} == {"teammate", "subuser"}
    for k in kinds:
        for days in (30, 60, 90):
            found = [
                el
                for el in rendered.page.find(
                    tenant=k["tenant_id"], metric=f"seat_activity.seats_active_{days}d"
                )
                if el.data("kind") == k["seat_kind"]
            ]
            assert len(found) == 1, (k, days)


def test_feature_tiles_equal_the_features_model(rendered: Rendered) -> None:
    rows = rendered.sql(
        "select * from {schema}.rpt_sendgrid_features order by tenant_id, display_order"
    )
    assert rows
    for tid in {r["tenant_id"] for r in rows}:
        tiles = rendered.page.find(tenant=tid, metric="feature")
        assert [t.data("feature") for t in tiles] == [
            r["feature_code"] for r in rows if r["tenant_id"] == tid
        ]
    for row in rows:
        tile = rendered.page.one(
            tenant=row["tenant_id"], metric="feature", feature=row["feature_code"]
        )
        assert tile.data("state") == row["feature_state"]
        assert same(tile.data("licensed"), row["is_licensed"])
        assert same(tile.data("used"), row["is_used"])
        assert same(tile.data("value"), row["usage_count"])
        assert same(tile.data("limit"), row["usage_limit"])
        assert row["feature_name"] in tile.text


def test_flagged_keys_are_named(rendered: Rendered) -> None:
    rows = rendered.sql("select * from {schema}.rpt_sendgrid_api_keys_flagged")
    assert rows
    for row in rows:
        section = rendered.page.one("section", tenant=row["tenant_id"])
        assert row["api_key_name"] in section.text
        assert row["key_note"] in section.text


def test_suppressions_chart_equals_the_suppressions_model(rendered: Rendered) -> None:
    for tid in ("acme_prod", "globex_eu", "initech"):
        svg = rendered.page.one("svg", tenant=tid, metric="new_suppressions")
        for kind in ("bounce", "spam_report"):
            rows = rendered.sql(
                "select suppression_month, new_suppressions from "
                "{schema}.rpt_sendgrid_suppressions_monthly where tenant_id = %s and "
                "suppression_kind = %s order by 1",
                tid,
                kind,
            )
            assert _values(svg, kind) == [
                (r["suppression_month"].isoformat(), str(r["new_suppressions"])) for r in rows
            ]


def test_money_has_a_sign_and_words(rendered: Rendered) -> None:
    acme = rendered.page.one(tenant="acme_prod", metric="rec.monthly_cost_change_usd")
    assert acme.text == "downgrade: saves $159.05/month"
    globex = rendered.page.one(tenant="globex_eu", metric="rec.monthly_cost_change_usd")
    assert globex.text == "upgrade: +$214.05/month"
    row = rendered.page.one(tenant="globex_eu", metric="overview.monthly_cost_change_usd")
    assert row.text == "upgrade: +$214.05/month"
    assert "saves" not in row.text


def test_a_never_synced_tenant_shows_its_state_and_no_recommendation(rendered: Rendered) -> None:
    overview = rendered.sql(
        "select * from {schema}.rpt_sendgrid_utilization_overview where tenant_id = %s", NEW_TENANT
    )[0]
    assert overview["sync_state"] == "never_synced"
    assert overview["recommendation"] == "no_data"
    section = rendered.page.one("section", tenant=NEW_TENANT)
    assert section.find(alert="never_synced")
    assert NEW_STATUS_TEXT in section.text
    assert "No figures and no plan recommendation" in section.text
    assert section.find("svg") == []
    assert not section.find(metric="rec.monthly_cost_change_usd")
    assert "/month" not in section.text
    row = next(r for r in rendered.page.find("tr") if r.data("tenant") == NEW_TENANT)
    assert "No recommendation" in row.text
    assert "/month" not in row.text
    # nothing could be read: unknown figures show as a dash, never as 0
    assert overview["requests_30d"] is None
    assert overview["features_used"] is None
    (volume,) = row.find(metric="overview.requests_30d")
    assert (volume.data("value"), volume.text.strip()) == ("", "—")
    (features,) = [c for c in row.children if c.data("label") == "Features used"]
    assert features.text.strip() == "—"  # not "— of —"
    # the header's total says whose volume it sums: not "all organizations"
    known = rendered.page.one(metric="requests_30d_tenant_count")
    total = int(rendered.page.one(metric="tenant_count").data("value"))
    assert int(known.data("value")) == total - 1
    (sub,) = [e for e in rendered.page.elements
              if e.attrs.get("class") == "kpi-sub" and known in e.children]  # fmt: skip
    assert f"of {total} organizations (the others' volume is unknown)" in sub.text


def test_every_tenant_with_data_has_its_charts(rendered: Rendered) -> None:
    with_data = _tenants(rendered, with_data=True)
    charts = rendered.page.find("svg")
    assert len(charts) == CHARTS_PER_TENANT * len(with_data)
    assert {c.data("tenant") for c in charts} == set(with_data)


def test_reconnect_without_a_base_url_says_how_to_set_it(rendered: Rendered) -> None:
    alerts = rendered.page.find(alert="needs_reconnect")
    assert {a.data("tenant") for a in alerts} == {"initech"}
    assert len(alerts) == 2  # page-top alert and the tenant's banner
    for alert in alerts:
        hint = alert.find(reconnect="unconfigured")
        assert len(hint) == 1
        assert CONNECT_BASE_URL_VARIABLE in hint[0].text
        assert CONNECT_PAGE_PATH in hint[0].text
        assert not any(a.attrs.get("href", "").endswith(CONNECT_PAGE_PATH) for a in alert.find("a"))
    assert rendered.html.index('data-alert="needs_reconnect"') < rendered.html.index("<section")


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_reconnect_links_use_the_configured_base_url(
    rendered: Rendered, tmp_path, monkeypatch, how: str
) -> None:
    from sendgrid_dashboard import write_dashboard
    from sendgrid_dashboard.render import BASE_URL_ENV

    base = "https://airflow.example.com/"
    for name in BASE_URL_ENV:
        monkeypatch.delenv(name, raising=False)
    if how == "environment":
        monkeypatch.setenv(BASE_URL_ENV[0], base)
    path = write_dashboard(
        rendered.conninfo,
        tmp_path / "d.html",
        connect_base_url=base if how == "argument" else None,
    )
    page = read_page(path.read_text())
    expected = f"https://airflow.example.com{CONNECT_PAGE_PATH}?tenant=initech"
    alerts = page.find(alert="needs_reconnect")
    assert len(alerts) == 2
    for alert in alerts:
        assert expected in [a.attrs.get("href") for a in alert.find("a")]
        assert alert.find(reconnect="unconfigured") == []


def test_plan_changes_tile_shows_the_net_of_all_recommendations(rendered: Rendered) -> None:
    (row,) = rendered.sql(
        "select net_plan_change_usd as net, downgrade_savings_usd as saves, "
        "upgrade_cost_usd as costs from {schema}.rpt_sendgrid_portfolio"
    )
    assert row["saves"] > 0  # the fixture recommends both kinds
    assert row["costs"] > 0
    assert row["net"] == row["costs"] - row["saves"]
    net = rendered.page.one(metric="net_plan_change_usd")
    (headline,) = [e for e in rendered.page.elements
                   if e.attrs.get("class") == "kpi-value" and net in e.children]  # fmt: skip
    amount = f"${abs(row['net']):,.2f}"
    expected = {-1: f"saves {amount}", 1: f"+{amount}", 0: "no change"}[
        (row["net"] > 0) - (row["net"] < 0)
    ]
    assert headline.text.strip() == expected
    (sub,) = [e for e in rendered.page.elements
              if e.attrs.get("class") == "kpi-sub" and net not in e.children
              and rendered.page.one(metric="upgrade_cost_usd") in e.children]  # fmt: skip
    assert f"saving ${row['saves']:,.2f}" in sub.text


def test_streams_a_key_cannot_read_for_a_feature_scope_have_their_own_group(
    rendered: Rendered,
) -> None:
    """A feature scope the key lacks (subusers on a plan without them) is not a missing scope
    the admin must grant: its streams are listed apart, with their own count."""
    counts = {
        f.data("tenant"): f.data("value")
        for f in rendered.page.find(metric="health.feature_scope_stream_count")
    }
    assert counts == {"globex_eu": "2"}
    (chips,) = rendered.page.find(metric="health.streams_feature_scope")
    assert chips.data("value") == "subusers,subuser_stats"
