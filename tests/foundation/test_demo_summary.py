"""The demo's terminal summary fits 100 columns, whatever the tenants are called."""

from __future__ import annotations

from sendgrid_demo.summary import TABLES, WIDTH, SummaryRow, format_table


def _row(name: str, recommended: str) -> SummaryRow:
    cells = {key: "x" for table in TABLES for _, key in table}
    cells |= {
        "display_name": name,
        "plan_name": "Premier 2.5M (estimated)",
        "credits": "104.2% (overage)",
        "volume": "2,512,330",
        "recommended": recommended,
        "cost_change": "saves $1,249",
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
    assert "saves $1,249" in table
