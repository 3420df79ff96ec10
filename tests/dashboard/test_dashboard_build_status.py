"""The page names the figures a failed transform run left behind (``sendgrid_build_status``).

After a run where one model failed, its dependants keep the previous run's rows while the other
models move to the new as-of. The header sums it up and each card showing such rows is marked,
naming the model, what the run did and both instants; with every model current, or without the
table (a warehouse built before it existed), the page has no notice.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from sendgrid_elt.settings import BUILD_STATUS_TABLE, DBT_PROJECT_DIR, MARTS_SCHEMA

from .build_status_fixture import COLUMNS, EARLIER, REPORTS, run_statuses, write_build_status
from .conftest import Rendered, _render
from .marts_fixture import load_marts
from .page_reader import Element, read_page

#: Card (data-section) → the models the notices name on it, in every section with data.
MARKED = {
    "credits": {"rpt_sendgrid_credit_periods"},
    "current-period": {"rpt_sendgrid_credit_periods"},
    "api-keys": {"rpt_sendgrid_api_keys_flagged"},
    "features": {"rpt_sendgrid_features"},
}
#: Cards of the same sections that read only current models.
UNMARKED = {
    "volume", "seats", "delivery", "bounce-spam", "recommendation", "health", "suppressions",
    "seat-activity",
}  # fmt: skip


def _classes(el: Element) -> list[str]:
    return el.attrs.get("class", "").split()


def _text(el: Element) -> str:
    return re.sub(r"\s+", " ", el.text).strip()


def test_the_header_names_each_report_left_behind_its_cards_and_both_instants(
    left_behind: Rendered,
) -> None:
    summary = left_behind.page.one(alert="not_current")
    assert summary.data("count") == "3"
    assert summary.data("total") == str(len(REPORTS)) == "15"
    text = _text(summary)
    assert text.startswith(
        "3 of 15 reports were not rebuilt cleanly by the last transform run"
        " (as of 2026-11-29 06:00 UTC)"
    ), text
    items = {li.data("not-current"): _text(li) for li in summary.find("li")}
    assert items == {
        "rpt_sendgrid_credit_periods": "Credits used vs plan, Current period:"
        " rpt_sendgrid_credit_periods was skipped (a model it depends on failed);"
        " its rows are as of 2026-11-28 06:00 UTC.",
        "rpt_sendgrid_api_keys_flagged": "API-key risk: rpt_sendgrid_api_keys_flagged failed to"
        " build; its rows are as of 2026-11-28 06:00 UTC.",
        "rpt_sendgrid_features": "Feature adoption: rpt_sendgrid_features was rebuilt, but its"
        " data tests failed; its rows are as of 2026-11-29 06:00 UTC.",
    }
    # The mart that failed is not on the page; the header's as-of is still the portfolio's.
    assert "fct_sendgrid_overage_forecast" not in left_behind.html
    assert left_behind.page.one(metric="as_of_at").data("value") == "2026-11-28T06:00:00+00:00"


def test_each_card_showing_rows_left_behind_is_marked_in_every_section(
    left_behind: Rendered,
) -> None:
    overview = left_behind.rows["rpt_sendgrid_utilization_overview"]
    with_data = {r["tenant_id"] for r in overview if r["has_data"]}
    sections = [s for s in left_behind.page.find("section") if s.data("tenant") in with_data]
    assert len(sections) == len(with_data) >= 4
    for section in sections:
        for key, models in MARKED.items():
            (card,) = section.find(section=key)
            assert "not-current" in _classes(card), (section.data("tenant"), key)
            notes = [el for el in card.find(card=key) if el.data("not-current")]
            assert {n.data("not-current") for n in notes} == models, (section.data("tenant"), key)
        for key in UNMARKED:
            for card in section.find(section=key):
                assert "not-current" not in _classes(card), key
                assert [el for el in card.find() if el.data("not-current")] == [], key
        assert [el for el in section.find(card="organization")] == []
        assert [el for el in section.find(card="overage")] == []
    assert left_behind.page.find(card="kpis") == []
    (portfolio,) = left_behind.page.find(section="portfolio")
    assert [el for el in portfolio.find() if el.data("not-current")] == []


def test_a_marker_says_what_the_run_did_and_the_as_of_of_the_rows_shown(
    left_behind: Rendered,
) -> None:
    section = left_behind.page.find("section", tenant="acme_prod")[0]
    (skipped,) = section.find(card="credits")
    assert _text(skipped) == (
        "From an earlier transform run: the last run (as of 2026-11-29 06:00 UTC) did not"
        " rebuild rpt_sendgrid_credit_periods: it was skipped (a model it depends on failed)."
        " These figures are as of 2026-11-28 06:00 UTC."
    )
    assert skipped.data("data-as-of") == "2026-11-28T06:00:00+00:00"
    assert skipped.data("last-run-as-of") == "2026-11-29T06:00:00+00:00"
    assert skipped.attrs["role"] == "note"
    (failed,) = section.find(card="api-keys")
    assert "it failed to build. These figures are as of 2026-11-28 06:00 UTC." in _text(failed)
    (tests_failed,) = section.find(card="features")
    assert _text(tests_failed) == (
        "Failed its data checks: the last transform run (as of 2026-11-29 06:00 UTC) rebuilt"
        " rpt_sendgrid_features, but its data tests failed; these figures"
        " (as of 2026-11-29 06:00 UTC) did not pass them."
    )


def _page_with(pg_database: Any, tmp_path: Path, statuses: dict | None) -> Rendered:
    conninfo = pg_database.conninfo()
    rows = load_marts(conninfo)
    if statuses is not None:
        write_build_status(conninfo, statuses)
    return _render(conninfo, rows, tmp_path / "page.html")


def _no_notice(page: Rendered) -> None:
    assert page.page.find(alert="not_current") == []
    assert [el for el in page.page.elements if el.data("not-current")] == []
    assert [el for el in page.page.elements if "not-current" in _classes(el)] == []
    assert page.page.find("section")  # the page itself is whole
    assert page.page.one(metric="tenant_count").data("value") == "5"


def test_every_model_current_means_no_notice(pg_database: Any, tmp_path: Path) -> None:
    # The mart that failed is not on the page: nothing the page shows is behind.
    statuses = run_statuses({"fct_sendgrid_overage_forecast": ("error", None)})
    page = _page_with(pg_database, tmp_path, statuses)
    assert len(page.sql("select * from {schema}.sendgrid_build_status")) == 16
    _no_notice(page)


def test_a_warehouse_without_the_build_status_table_renders_without_notice(
    pg_database: Any, tmp_path: Path
) -> None:
    page = _page_with(pg_database, tmp_path, None)
    assert (
        page.sql(
            "select 1 from information_schema.tables where table_schema = %s"
            " and table_name = 'sendgrid_build_status'",
            MARTS_SCHEMA,
        )
        == []
    )
    _no_notice(page)


def test_a_build_status_table_of_another_shape_renders_without_notice(
    pg_database: Any, tmp_path: Path
) -> None:
    page = _page_with(pg_database, tmp_path, None)
    with psycopg.connect(page.conninfo) as conn:
        conn.execute(
            sql.SQL("create table {}.sendgrid_build_status (model_name text)").format(
                sql.Identifier(MARTS_SCHEMA)
            )
        )
    _no_notice(_render(page.conninfo, page.rows, tmp_path / "other-shape.html"))


def test_a_status_dbt_did_not_name_is_shown_as_text_not_markup(
    pg_database: Any, tmp_path: Path
) -> None:
    hostile = '<img src=x onerror=alert(1)>"'
    statuses = run_statuses({"rpt_sendgrid_seat_weeks": (hostile, None)})
    page = _page_with(pg_database, tmp_path, statuses)
    assert "img" not in page.page.tags
    (item,) = page.page.one(alert="not_current").find("li")
    assert item.data("status") == hostile
    assert _text(item) == (
        f"Seats by role vs limit: rpt_sendgrid_seat_weeks ended with status {hostile};"
        " its rows are as of an earlier run (not recorded)."
    )
    for note in page.page.find(card="seats"):
        assert f"it ended with status {hostile}." in _text(note)
    assert read_page(page.html).find("script") == []


def test_every_report_left_behind_is_marked_where_the_page_shows_it(
    pg_database: Any, tmp_path: Path
) -> None:
    """All 15 reports skipped: each is named in the header and marked on the page, and every
    part of a section with data (its cards, its summary, its overage alerts) is marked."""
    page = _page_with(pg_database, tmp_path, {m: ("skipped", None) for m in REPORTS})
    summary = page.page.one(alert="not_current")
    assert (summary.data("count"), summary.data("total")) == ("15", "15")
    assert sorted(li.data("not-current") for li in summary.find("li")) == sorted(REPORTS)
    notes = [el for el in page.page.elements if el.data("not-current") and el.data("card")]
    assert {n.data("not-current") for n in notes} == set(REPORTS)
    assert {n.data("not-current") for n in page.page.find(card="kpis")} == {
        "rpt_sendgrid_portfolio"
    }
    (portfolio,) = page.page.find(section="portfolio")
    assert {n.data("not-current") for n in portfolio.find(card="portfolio")} == {
        "rpt_sendgrid_utilization_overview"
    }
    (acme,) = page.page.find("section", tenant="acme_prod")
    cards = {el.data("section") for el in acme.find() if "card" in _classes(el)}
    assert cards == {*MARKED, *UNMARKED, "history"}
    marked = {n.data("card") for n in acme.find() if n.data("not-current")}
    assert marked == {*cards, "organization", "overage"}
    assert {n.data("not-current") for n in acme.find(card="volume")} == {
        "rpt_sendgrid_monthly_volume",
        "rpt_sendgrid_utilization_overview",
        "rpt_sendgrid_plan_recommendation",
    }
    (overage,) = acme.find(card="overage")
    assert "These figures are as of an earlier run (not recorded)." in _text(overage)


def test_the_fixture_table_is_the_one_dbt_s_macro_creates() -> None:
    """The page reads columns dbt's ``record_build_status`` creates (a rename there would leave
    the page without notices: it renders a table of another shape as if there were none)."""
    macro = (DBT_PROJECT_DIR / "macros" / "record_build_status.sql").read_text()
    found = re.search(r"create table if not exists \{\{ table \}\} \((.*?)\);", macro, re.S)
    assert found, "record_build_status no longer creates the table"
    columns = [line.strip().rstrip(",") for line in found.group(1).strip().splitlines()]
    assert columns == [f"{name} {kind}" for name, kind in COLUMNS]
    assert "var('sendgrid_build_status_table')" in macro  # settings.dbt_vars passes the name


def test_a_report_a_partial_run_did_not_select_is_named_against_that_run(
    pg_database: Any, tmp_path: Path
) -> None:
    """A run of some models only (``dbt build --select``, by hand) as of the last run: the
    seat weeks kept their clean rows of the day before, which the macro no longer calls current
    (``tests/transform/test_dbt_status.py``); the page names the run that left them behind."""
    conninfo = pg_database.conninfo()
    rows = load_marts(conninfo)
    write_build_status(conninfo, run_statuses({}))
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            sql.SQL(
                "update {}.{} set last_run_as_of_at = %s, data_as_of_at = %s, is_current = false"
                " where model_name = 'rpt_sendgrid_seat_weeks'"
            ).format(sql.Identifier(MARTS_SCHEMA), sql.Identifier(BUILD_STATUS_TABLE)),
            [EARLIER, EARLIER],
        )
    page = _render(conninfo, rows, tmp_path / "partial.html")
    summary = page.page.one(alert="not_current")
    assert summary.data("count") == "1"
    assert _text(summary).startswith(
        "1 of 15 reports were not rebuilt cleanly by the last transform run"
        " (as of 2026-11-29 06:00 UTC)"
    )
    (item,) = summary.find("li")
    assert _text(item) == (
        "Seats by role vs limit: rpt_sendgrid_seat_weeks was not among the models it built"
        " (a build of some models only); its rows are as of 2026-11-28 06:00 UTC."
    )
    notes = [el for el in page.page.find(card="seats") if el.data("not-current")]
    assert notes
    for note in notes:
        assert note.data("last-run-as-of") == "2026-11-29T06:00:00+00:00"
        assert _text(note) == (
            "From an earlier transform run: the last run (as of 2026-11-29 06:00 UTC) did not"
            " rebuild rpt_sendgrid_seat_weeks: it was not among the models it built (a build of"
            " some models only). These figures are as of 2026-11-28 06:00 UTC."
        )
