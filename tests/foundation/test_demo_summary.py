"""The demo's terminal summary fits 100 columns, whatever the tenants are called."""

from __future__ import annotations

from sendgrid_demo.summary import TABLES, WIDTH, SummaryRow, _cell, format_table


def _row(name: str, recommended: str) -> SummaryRow:
    cells = {key: "x" for table in TABLES for _, key in table}
    cells |= {
        "display_name": name,
        "plan_name": "Premier 2.5M (estimated)",
        "credits": "104.2% (overage)",
        "volume": "2,512,330",
        "recommended": recommended,
        "cost_change": "saves $1,249.00",
        "connection_status": "needs_reconnect (failed)",
    }
    return SummaryRow(values={}, cells=cells)


def test_summary_lines_fit_100_columns() -> None:
    rows = [
        _row("Bluebird Logistics International Holdings", "Pro 100K (downgrade)"),
        _row("Acme", "Essentials 50K (upgrade)"),
    ]
    table = format_table(rows)
    assert max(len(line) for line in table.splitlines()) <= WIDTH
    assert "Bluebird Logistics In…" in table  # shortened, still recognisable
    assert "Essentials 50K (upgrade)" in table
    assert "saves $1,249.00" in table


def test_wide_columns_move_to_a_further_table_instead_of_being_cut() -> None:
    """A credit status as wide as ``insufficient_data`` once cut the Bounce and Spam columns."""
    rows = [_row("Cedar Health Partners", "–") for _ in range(2)]
    for row in rows:
        row.cells.update(credits="0.0% (insufficient_data)", bounce="1.25%", spam="0.04%")
    table = format_table(rows)
    assert max(len(line) for line in table.splitlines()) <= WIDTH
    for title, key in (column for columns in TABLES for column in columns):
        assert title in table, title
        assert all(_cell(row, key) in table for row in rows), key  # whole (or CELL_MAX)
    assert "1.25%" in table
    assert "0.04%" in table
    tables = table.split("\n\n")
    assert len(tables) == 3  # the usage table in two parts, each led by the tenant
    assert all(block.startswith("Tenant") for block in tables)


def test_summary_writes_money_and_rates_as_the_dashboard_does() -> None:
    """The summary said ``saves $5`` and ``1.00%`` where the dashboard said $4.71 and 1%."""
    from decimal import Decimal

    from sendgrid_dashboard.formats import n_change, n_pct100, n_rate
    from sendgrid_demo.summary import money_change, pct, ratio

    assert money_change(Decimal("-4.71")) == "saves $4.71"
    assert money_change(Decimal("-4.71")) in n_change(Decimal("-4.71"), "downgrade")
    assert money_change(Decimal("250")) == "+$250.00"
    assert money_change(Decimal("0")) == "same"
    assert ratio(Decimal("0.01")) == n_rate(Decimal("0.01")) == "1%"
    assert ratio(Decimal("0.0004")) == "0.04%"
    assert pct(Decimal("42.5")) == n_pct100(Decimal("42.5")) == "42.5%"
    assert money_change(None) == ratio(None) == pct(None) == n_rate(None)
