"""The dashboard's rules: a self-contained page that escapes warehouse text, reads only the
reporting models, renders unknowns as unknown and an empty warehouse as a helpful page, its CLI
and its number formats.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import escape
from pathlib import Path

import psycopg
import pytest

from sendgrid_elt.settings import CONNECT_PAGE_PATH

from .conftest import Rendered
from .figures import check_figures
from .marts_fixture import XSS_NAME, create_marts, load_marts
from .page_reader import read_page

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "sendgrid_dashboard"


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
            assert href.startswith("#"), href


def test_warehouse_text_is_escaped(rendered: Rendered) -> None:
    html = rendered.html
    assert XSS_NAME not in html
    assert escape(XSS_NAME) in html
    section = rendered.page.one("section", tenant="xss_tenant")
    assert section.find("h2")[0].text == XSS_NAME
    assert "<img src=x onerror=alert(1)>" in "".join(rendered.page.texts)
    assert "<b>templates.read</b>" in "".join(rendered.page.texts)
    assert "onerror" not in {k for el in rendered.page.find() for k in el.attrs}


def test_the_dashboard_reads_only_reporting_models() -> None:
    from sendgrid_dashboard.queries import REPORTING_MODELS

    assert REPORTING_MODELS
    assert all(model.startswith("rpt_sendgrid_") for model in REPORTING_MODELS)
    for path in DASHBOARD_DIR.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".j2"):
            text = path.read_text().lower()
            assert not re.search(r"\b(fct|dim|int|stg)_sendgrid", text), path
            # No modelling in SQL: no join, grouping, window or filter; one plain select.
            for word in (" join ", "group by", " over (", " where "):
                assert word not in text, (path, word)
            if path.suffix == ".py":
                # queries.py: the models' plain select, and the read of dbt's build status.
                assert text.count('"select ') == 2 * (path.name == "queries.py"), path
    from sendgrid_dashboard import queries

    source = Path(queries.__file__).read_text()
    assert '"select * from {}.{} order by {}"' in source
    assert (
        '"select model_name, last_run_status, last_run_as_of_at, data_as_of_at, is_current"\n'
        '        " from {}.{}"'
    ) in source


def test_no_dashboard_module_is_over_400_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in DASHBOARD_DIR.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes


def test_empty_reporting_models_render_a_helpful_page(pg_database, tmp_path) -> None:
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
    base = "https://airflow.example.com"
    assert (
        main(
            ["--conninfo", pg_database.conninfo(), "--output", str(out), "--connect-base-url", base]
        )
        == 0
    )
    assert out.is_file()
    assert f'href="{base}{CONNECT_PAGE_PATH}"' in out.read_text()
    assert str(out.resolve()) in capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.123, "12.3%"), (0.0004, "0.04%"), (1, "100%"), (0, "0%"), (0.00001, "<0.01%")],
)
def test_fmt_pct(value, text) -> None:
    from sendgrid_dashboard.svg import fmt_pct

    assert fmt_pct(value) == text


@pytest.mark.parametrize(
    ("change", "recommendation", "text"),
    [
        (Decimal("214.05"), "upgrade", "upgrade: +$214.05/month"),
        (Decimal("-159.05"), "downgrade", "downgrade: saves $159.05/month"),
        (Decimal("0.00"), "keep", "keep: no change in cost"),
        (None, "no_data", "no recommendation yet"),
        (None, "upgrade", "cost change unknown"),
    ],
)
def test_money_change_words(change, recommendation, text) -> None:
    from sendgrid_dashboard.formats import n_change

    assert n_change(change, recommendation) == text


def test_fractions_keep_their_decimals_and_days_are_utc_days(pg_database, tmp_path) -> None:
    """A reputation of 97.5 reads "97.5%" and a run rate of 0.6 a day "0.60" (not "97" and
    "0"); a feature last used at 23:30 UTC shows that UTC day, read through a connection whose
    session time zone is already on the next day."""
    from sendgrid_dashboard import write_dashboard
    from sendgrid_elt.settings import MARTS_SCHEMA

    load_marts(pg_database.conninfo())
    late = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC)
    with psycopg.connect(pg_database.conninfo()) as conn:
        (tid,) = conn.execute(
            f"select tenant_id from {MARTS_SCHEMA}.rpt_sendgrid_utilization_overview"  # noqa: S608
            " where has_data order by display_order limit 1"
        ).fetchone()
        for statement, params in (
            ("update {s}.rpt_sendgrid_utilization_overview set reputation = 97.5"
             " where tenant_id = %s", [tid]),
            ("update {s}.rpt_sendgrid_credit_periods set daily_run_rate = 0.6"
             " where tenant_id = %s and is_current_period", [tid]),
            ("update {s}.rpt_sendgrid_features set last_activity_at = %s where tenant_id = %s",
             [late, tid]),
        ):  # fmt: skip
            assert conn.execute(statement.format(s=MARTS_SCHEMA), params).rowcount >= 1
        (feature,) = conn.execute(
            f"select min(feature_code) from {MARTS_SCHEMA}.rpt_sendgrid_features"  # noqa: S608
            " where tenant_id = %s",
            [tid],
        ).fetchone()
    with psycopg.connect(pg_database.conninfo(), options="-c TimeZone=Asia/Tokyo") as conn:
        path = write_dashboard(conn, tmp_path / "fractions.html")
    page = read_page(path.read_text())
    reputation = page.one(tenant=tid, metric="overview.reputation")
    assert (reputation.data("value"), reputation.text) == ("97.5", "97.5%")
    rate = page.one(tenant=tid, metric="period.daily_run_rate")
    assert (rate.data("value"), rate.text) == ("0.60", "0.60")
    tile = page.one(tenant=tid, metric="feature", feature=feature)
    assert "last 2026-11-27" in tile.text, tile.text


def test_unknown_seats_render_as_unknown(pg_database, tmp_path) -> None:
    """A tenant whose key cannot read teammates or subusers: its seat figures are null in the
    models (unknown, never 0); the page shows "—" for them and still renders every tenant."""
    from sendgrid_dashboard import write_dashboard
    from sendgrid_elt.settings import MARTS_SCHEMA

    load_marts(pg_database.conninfo())
    counts = ("owner_count", "admin_count", "teammate_count", "seats_used", "seats_used_pct",
              "pending_invites_valid", "pending_invites_expired", "subusers_total")  # fmt: skip
    with psycopg.connect(pg_database.conninfo()) as conn:
        (tid,) = conn.execute(
            f"select tenant_id from {MARTS_SCHEMA}.rpt_sendgrid_utilization_overview"  # noqa: S608
            " where has_data order by display_order limit 1"
        ).fetchone()
        for model, columns in (("rpt_sendgrid_seat_weeks", counts),
                               ("rpt_sendgrid_utilization_overview",
                                ("seats_used", "seats_used_pct", "pending_invites_valid",
                                 "subusers_total"))):  # fmt: skip
            nulls = ", ".join(f"{c} = null" for c in columns)
            conn.execute(
                f"update {MARTS_SCHEMA}.{model} set {nulls} where tenant_id = %s",  # noqa: S608
                [tid],
            )
    path = write_dashboard(pg_database.conninfo(), tmp_path / "unknown.html")
    page = read_page(path.read_text())
    assert len(page.find("section")) == len(_overview_ids(pg_database.conninfo()))
    svg = page.one("svg", tenant=tid, metric="seats_by_role")
    bars = svg.find("rect", series="admin_count")
    assert bars
    assert all(b.data("value") == "" and b.text.endswith("Admins: n/a") for b in bars)
    assert "Seats unknown" in svg.text, svg.text
    assert "No teammates" not in svg.text, svg.text
    for metric in ("seats.seats_used", "seats.seats_used_pct", "seats.pending_invites_valid"):
        (figure,) = page.find(tenant=tid, metric=metric)
        assert figure.text.strip() == "—", (metric, figure.text)


def _overview_ids(conninfo: str) -> list[str]:
    from sendgrid_elt.settings import MARTS_SCHEMA

    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            f"select tenant_id from {MARTS_SCHEMA}.rpt_sendgrid_utilization_overview"  # noqa: S608
        ).fetchall()
    return [r[0] for r in rows]


def test_duplicate_and_subuser_connections_are_flagged_and_counted_once(
    counted_once: Rendered,
) -> None:
    """``globex_eu`` reaches the account ``acme_prod`` connected first, ``xss_tenant`` is a
    subuser of ``acme_prod``: their sections and portfolio rows say so, the subuser has no
    recommendation of its own, and the header's figures are the portfolio model's (which
    counts each account once)."""
    html, page, sql = counted_once.html, counted_once.page, counted_once.sql
    check_figures(page, sql)
    (portfolio,) = sql("select * from {schema}.rpt_sendgrid_portfolio")
    assert (portfolio["tenant_count"], portfolio["account_count"]) == (5, 3)
    text = re.sub("<[^>]+>", "", html)
    assert (
        "connected · 1 duplicate connection (counted once)"
        " · 1 subuser connection (counted in its parent)" in text
    )
    first = f"#tenant-{page.one('section', tenant='acme_prod').attrs['id'][7:]}"
    (duplicate,) = page.find(alert="duplicate_account")
    assert duplicate.data("tenant") == "globex_eu"
    assert "Same SendGrid account as Acme Retail" in duplicate.text
    assert [a.attrs["href"] for a in duplicate.find("a")] == [first]
    (subuser,) = page.find(alert="subuser_account")
    assert subuser.data("tenant") == "xss_tenant"
    assert "A subuser of Acme Retail" in subuser.text
    assert [a.attrs["href"] for a in subuser.find("a")] == [first]
    assert "same account as Acme Retail" in page.one("tr", tenant="globex_eu").text
    subuser_row = page.one("tr", tenant="xss_tenant")
    assert "subuser of Acme Retail" in subuser_row.text
    assert "No recommendation" in subuser_row.text
    assert not page.one("tr", tenant="acme_prod").find(metric="overview.duplicate_of_display_name")
    # one overage alert per account: globex_eu's is acme_prod's
    assert not page.find(alert="overage", tenant="globex_eu")
    # the volume tile counts accounts: newco's volume is unknown, the others are acme_prod
    assert page.one(metric="account_count").text == "3"


def test_the_delivery_axis_ends_at_100_percent() -> None:
    """Rates of 93-99 %: the axis runs from a round floor to 100 %, never to 105 % (a rate
    cannot exceed it; before, the span was rounded up past it)."""
    from sendgrid_dashboard.queries import TenantView
    from sendgrid_dashboard.tenant_charts import delivery_chart

    days = [{"activity_date": dt.date(2026, 11, d), "delivery_rate": Decimal(r)}
            for d, r in ((20, "0.93"), (21, "0.99"), (22, "0.97"))]  # fmt: skip
    svg = delivery_chart(TenantView({"tenant_id": "t", "display_name": "T"}, deliverability=days))
    ticks = re.findall(r">(\d+)%<", svg)
    assert ticks[-1] == "100", ticks
    assert "105" not in ticks


def test_an_empty_volume_chart_of_unknown_volume_says_unknown_not_nothing() -> None:
    """No stats rows because the stats could not be read (30-day volume null): the charts say
    the volume is unknown; a tenant that sent nothing (volume 0) keeps 'nothing requested'."""
    from sendgrid_dashboard.queries import TenantView
    from sendgrid_dashboard.tenant_charts import delivery_chart, volume_chart

    unknown = TenantView({"tenant_id": "t", "display_name": "T", "requests_30d": None})
    quiet = TenantView({"tenant_id": "q", "display_name": "Q", "requests_30d": 0})
    for chart in (volume_chart, delivery_chart):
        assert "Volume unknown" in chart(unknown)
        assert "Volume unknown" not in chart(quiet)
    assert "nothing requested" in delivery_chart(quiet)


def test_runs_out_says_used_up_never_and_not_this_period() -> None:
    """The period's "Runs out" reads its model columns: credits used up days ago are "used up"
    (was "0 days"), a rate of 0 never runs out (was "—", read as unknown), a date past the
    period's reset is "not this period" (was "45 days" in a period ending in 10)."""
    from sendgrid_dashboard.formats import n_runs_out

    ran_out = {"days_until_exhausted": 0, "credits_remain": -500, "daily_run_rate": 90}
    idle = {"days_until_exhausted": None, "credits_remain": 800, "daily_run_rate": Decimal(0)}
    unknown = {"days_until_exhausted": None, "credits_remain": None, "daily_run_rate": None}
    later = {"days_until_exhausted": 45, "projected_exhaustion_date": None,
             "credits_remain": 4500, "daily_run_rate": 100}  # fmt: skip
    soon = {"days_until_exhausted": 3, "projected_exhaustion_date": dt.date(2026, 12, 1),
            "credits_remain": 300, "daily_run_rate": 100}  # fmt: skip
    assert n_runs_out(ran_out) == "used up"
    assert n_runs_out(idle) == "not at the current rate"
    assert n_runs_out(unknown) == "—"
    assert n_runs_out(later) == "not this period"
    assert n_runs_out(soon) == "in 3 days (2026-12-01)"
