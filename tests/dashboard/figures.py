"""Check every figure of a rendered dashboard against a SQL query on the reporting models.

A figure is an element with ``data-metric`` (and ``data-value``): ``column`` alone is a column of
the one ``rpt_sendgrid_portfolio`` row; ``prefix.column`` with ``data-tenant`` is a column of the
tenant's row of the model :data:`ROW_OF` names (qualified by ``data-kind`` / ``data-period``).
Used on the fixture warehouse and on the warehouse of a real pipeline run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .page_reader import PageReader, same

#: Figure prefix → (reporting model, which of the tenant's rows is shown).
ROW_OF = {
    "overview": ("rpt_sendgrid_utilization_overview", "true"),
    "health": ("rpt_sendgrid_tenant_health", "true"),
    "period": ("rpt_sendgrid_credit_periods", "is_current_period"),
    "seats": ("rpt_sendgrid_seat_weeks", "is_latest_day"),
    "rec": ("rpt_sendgrid_plan_recommendation", "true"),
    "api_keys": ("rpt_sendgrid_api_key_summary", "true"),
    "overage": ("rpt_sendgrid_overage_forecast", "true"),
    "seat_activity": ("rpt_sendgrid_seat_activity", "seat_kind = %(kind)s"),
    "suppressions": (
        "rpt_sendgrid_suppressions_monthly",
        "is_as_of_month and suppression_kind = %(kind)s",
    ),
    "history": ("rpt_sendgrid_usage_history", "period_start_date = %(period)s::date"),
}
#: ``sql(query, **params)``: rows (dicts) of a query; ``{schema}`` stands for the marts schema.
Sql = Callable[..., list[dict[str, Any]]]
_NAME = re.compile(r"[a-z_0-9]+")


def check_figures(page: PageReader, sql: Sql) -> dict[str, int]:
    """Assert each figure's ``data-value`` equals its query's value; return counts by prefix."""
    checked: dict[str, int] = {}
    for el in page.find():
        metric, tenant = el.data("metric"), el.data("tenant")
        if metric is None or el.tag == "svg" or metric == "feature":
            continue  # charts and feature tiles: checked against their models' rows elsewhere
        if tenant is None:  # the header: the one row of the portfolio model
            assert _NAME.fullmatch(metric), metric
            rows = sql(f"select {metric} as v from {{schema}}.rpt_sendgrid_portfolio")  # noqa: S608
            prefix = "portfolio"
        else:
            prefix, column = metric.split(".")
            model, where = ROW_OF[prefix]
            assert _NAME.fullmatch(column), metric
            rows = sql(
                f"select {column} as v from {{schema}}.{model} "  # noqa: S608 - names checked
                f"where tenant_id = %(tenant)s and {where}",
                tenant=tenant,
                kind=el.data("kind"),
                period=el.data("period"),
            )
        assert len(rows) == 1, (metric, tenant, rows)
        assert same(el.data("value"), rows[0]["v"]), (tenant, metric, el.data("value"), rows)
        checked[prefix] = checked.get(prefix, 0) + 1
    return checked
