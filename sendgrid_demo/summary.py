"""The per-tenant utilization summary printed at the end of the demo (read from the marts)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from sendgrid_dashboard.formats import n_pct100, n_rate, n_usd
from sendgrid_elt.settings import MARTS_SCHEMA

#: The summary's figures, as ``rpt_sendgrid_utilization_overview`` holds them.
OVERVIEW_SQL = sql.SQL(
    """
select tenant_id, display_name, plan_name, connection_status, sync_state, credits_used_pct,
       utilization_status, seats_used_pct, features_used, features_licensed, requests_30d,
       bounce_rate_30d, spam_report_rate_30d, recommended_plan_name, recommendation,
       monthly_cost_change_usd, recommendation_text
from {schema}.rpt_sendgrid_utilization_overview
order by display_name
"""
).format(schema=sql.Identifier(MARTS_SCHEMA))

#: How much is used, then what to do about it: tables of at most :data:`WIDTH` columns.
TABLES = (
    (
        ("Tenant", "display_name"),
        ("Plan", "plan_name"),
        ("Credits used", "credits"),
        ("Seats", "seats"),
        ("Features", "features"),
        ("30-day volume", "volume"),
        ("Bounce", "bounce"),
        ("Spam", "spam"),
    ),
    (
        ("Tenant", "display_name"),
        ("Recommended plan", "recommended"),
        ("Cost/month", "cost_change"),
        ("Connection", "connection_status"),
    ),
)
WIDTH = 100
#: Longest cell of a column before it is shortened with an ellipsis.
CELL_MAX = {"display_name": 22, "plan_name": 16, "recommended": 30, "connection_status": 30}


@dataclass(frozen=True)
class SummaryRow:
    """One tenant's headline figures, as stored in the mart and as printed."""

    values: dict[str, Any]
    cells: dict[str, str]


#: A figure the marts do not know (the dashboard's mark for null).
UNKNOWN = n_usd(None)


def pct(value: Decimal | float | None) -> str:
    """A percentage column (already 0–100) → ``12.3%``, as the dashboard writes it."""
    return n_pct100(value)


def ratio(value: Decimal | float | None) -> str:
    """A rate column (0–1) → ``1%``, ``0.04%``, as the dashboard writes it."""
    return n_rate(value)


def money_change(value: Decimal | float | None) -> str:
    """A monthly cost change (positive = costs more) → ``+$250.00``, ``saves $4.71``, ``same``.

    The amounts are the dashboard's (:func:`sendgrid_dashboard.formats.n_usd`: two decimals).
    """
    if value is None:
        return UNKNOWN
    amount = Decimal(str(value))
    if amount > 0:
        return f"+{n_usd(amount)}"
    return f"saves {n_usd(-amount)}" if amount < 0 else "same"


def read_overview(conninfo: str) -> list[SummaryRow]:
    """Read ``rpt_sendgrid_utilization_overview`` and format each row's cells."""
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        rows = conn.execute(OVERVIEW_SQL).fetchall()
    out = []
    for r in rows:
        credits = pct(r["credits_used_pct"])
        if r["utilization_status"]:
            credits += f" ({r['utilization_status']})"
        cells = {
            "display_name": str(r["display_name"]),
            "plan_name": str(r["plan_name"] or UNKNOWN),
            "credits": credits,
            "seats": pct(r["seats_used_pct"]),
            "features": (
                UNKNOWN
                if r["features_licensed"] is None
                else f"{r['features_used'] or 0}/{r['features_licensed']}"
            ),
            "volume": UNKNOWN if r["requests_30d"] is None else f"{r['requests_30d']:,}",
            "bounce": ratio(r["bounce_rate_30d"]),
            "spam": ratio(r["spam_report_rate_30d"]),
            "recommended": (
                UNKNOWN
                if r["recommendation"] in (None, "unknown", "no_data")
                else f"{r['recommended_plan_name']} ({r['recommendation']})"
            ),
            "cost_change": money_change(r["monthly_cost_change_usd"]),
            "connection_status": str(r["connection_status"] or UNKNOWN)
            + ("" if r["sync_state"] in ("synced", None) else f" ({r['sync_state']})"),
        }
        out.append(SummaryRow(values=dict(r), cells=cells))
    return out


def _cell(row: SummaryRow, key: str) -> str:
    text = row.cells[key]
    limit = CELL_MAX.get(key)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def format_table(rows: list[SummaryRow]) -> str:
    """The rows as plain-text tables, each line at most :data:`WIDTH` characters.

    Each of :data:`TABLES` is printed whole when it fits; when its columns are wider than
    :data:`WIDTH` (long plan names, a credit status), the columns that do not fit go to a
    further table that repeats the first column (the tenant): no cell is ever cut off.
    """
    blocks = []
    for columns in TABLES:
        cells = [{key: _cell(r, key) for _, key in columns} for r in rows]
        widths = {key: max([len(title), *(len(c[key]) for c in cells)]) for title, key in columns}
        first, rest = columns[0], list(columns[1:])
        while rest:
            part, used = [first], widths[first[1]]
            while rest and (len(part) == 1 or used + 2 + widths[rest[0][1]] <= WIDTH):
                used += 2 + widths[rest[0][1]]
                part.append(rest.pop(0))
            lines = ["  ".join(title.ljust(widths[key]) for title, key in part)]
            lines.append("  ".join("-" * widths[key] for _, key in part))
            lines += ["  ".join(c[key].ljust(widths[key]) for _, key in part) for c in cells]
            blocks.append("\n".join(line.rstrip() for line in lines))
    return "\n\n".join(blocks)


RECONNECT_SQL = sql.SQL(
    """
select display_name, connection_status, status_since_at, last_error
from {schema}.fct_sendgrid_connection_health
where connection_status = 'needs_reconnect'
order by display_name
"""
).format(schema=sql.Identifier(MARTS_SCHEMA))


def read_reconnect_needed(conninfo: str) -> list[dict[str, Any]]:
    """Tenants whose admin must reconnect (``fct_sendgrid_connection_health``)."""
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        return conn.execute(RECONNECT_SQL).fetchall()


def format_slowest(run_id: str) -> str:
    """The three slowest dbt models of a transform run (from its ``run_results.json``)."""
    from sendgrid_elt.dbt_results import run_dir, slowest_models

    folder = run_dir(run_id)
    models = slowest_models(folder)
    if not models:
        return f"    no run_results.json in {folder}"
    lines = [f"    {name:<44} {seconds:6.2f}s" for name, seconds in models]
    return "\n".join([*lines, f"    (dbt's run_results.json and dbt.log: {folder})"])
