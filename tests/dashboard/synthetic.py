"""A dashboard of many tenants without a database: the fixture tenants' reporting rows, copied.

``synthetic_dashboard(n)`` builds ``n`` tenants, each a copy of one fixture tenant (in turn)
under a new id and ``display_order``, so a page of any size can be rendered quickly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import fields, replace
from typing import Any

from sendgrid_dashboard.queries import REPORTING_MODELS, Dashboard, TenantView

from .conftest import GENERATED_AT
from .reporting_fixture import build_reporting

Row = dict[str, Any]


def fixture_views(**changes: dict[str, list[Row]]) -> dict[str, TenantView]:
    """The fixture tenants' views by tenant id (``changes``: model → rows replacing its rows)."""
    rows = {**build_reporting(), **changes}
    by_model: dict[str, dict[str, list[Row]]] = {}
    for model in REPORTING_MODELS:
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in rows[model]:
            if "tenant_id" in row:
                grouped[row["tenant_id"]].append(row)
        by_model[model] = grouped
    return {
        o["tenant_id"]: _view(o, {m: g.get(o["tenant_id"], []) for m, g in by_model.items()})
        for o in rows["rpt_sendgrid_utilization_overview"]
    }


def _view(overview: Row, rows: dict[str, list[Row]]) -> TenantView:
    values: dict[str, Any] = {}
    for f in fields(TenantView):
        if "model" in f.metadata:
            found = rows[f.metadata["model"]]
            values[f.name] = (found[0] if found else None) if f.metadata["one_row"] else found
    return TenantView(overview=overview, **values)


def synthetic_dashboard(n: int) -> Dashboard:
    """``n`` tenants copied from the fixture tenants in their display order, round robin."""
    base = build_reporting()
    views = sorted(fixture_views().values(), key=lambda v: v.overview["display_order"])
    tenants = []
    for i in range(n):
        src = views[i % len(views)]
        tid = f"{src.tenant_id}_{i:04d}"
        overview = {**src.overview, "tenant_id": tid, "display_order": i + 1}
        overview["display_name"] = f"{src.name} #{i:04d}"
        tenants.append(replace(src, overview=overview))
    portfolio = base["rpt_sendgrid_portfolio"][0]
    return Dashboard(portfolio=portfolio, tenants=tenants, generated_at=GENERATED_AT)
