"""Read the reporting models (``rpt_sendgrid_*``, schema ``MARTS_SCHEMA``) for the dashboard.

Every query is a plain ``select * from <rpt model> order by ...``: dbt computes each figure the
page shows (and a BI tool reading the same models sees the same numbers); this module only
groups the rows by tenant. Rows are dicts keyed by the models' column names. It also reads
:data:`BUILD_STATUS_TABLE`, dbt's record of what the last transform run did to each model.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, fields
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from sendgrid_elt.settings import BUILD_STATUS_TABLE, MARTS_SCHEMA

Row = dict[str, Any]

#: Each reporting model the page reads, and the order its rows are shown in.
REPORTING_MODELS: dict[str, str] = {
    "rpt_sendgrid_portfolio": "as_of_at",
    "rpt_sendgrid_utilization_overview": "display_order",
    "rpt_sendgrid_tenant_health": "tenant_id",
    "rpt_sendgrid_credit_periods": "tenant_id, period_start_date",
    "rpt_sendgrid_overage_forecast": "tenant_id, period_start_date",
    "rpt_sendgrid_usage_history": "tenant_id, period_start_date",
    "rpt_sendgrid_monthly_volume": "tenant_id, activity_month",
    "rpt_sendgrid_deliverability_daily": "tenant_id, activity_date",
    "rpt_sendgrid_seat_weeks": "tenant_id, seat_date",
    "rpt_sendgrid_seat_activity": "tenant_id, seat_kind desc",
    "rpt_sendgrid_features": "tenant_id, display_order",
    "rpt_sendgrid_api_key_summary": "tenant_id",
    "rpt_sendgrid_api_keys_flagged": "tenant_id, list_kind, list_rank",
    "rpt_sendgrid_suppressions_monthly": "tenant_id, suppression_month, suppression_kind",
    "rpt_sendgrid_plan_recommendation": "tenant_id",
}


def _rows(model: str) -> Any:
    """A :class:`TenantView` field holding the tenant's rows of ``model``."""
    return field(default_factory=list, metadata={"model": model, "one_row": False})


def _one_row(model: str) -> Any:
    """A :class:`TenantView` field holding the tenant's one row of ``model`` (or ``None``)."""
    return field(default=None, metadata={"model": model, "one_row": True})


@dataclass(frozen=True)
class TenantView:
    """Everything the page shows for one tenant: its rows of each reporting model."""

    overview: Row
    health: Row | None = _one_row("rpt_sendgrid_tenant_health")
    periods: list[Row] = _rows("rpt_sendgrid_credit_periods")
    overage: list[Row] = _rows("rpt_sendgrid_overage_forecast")
    history: list[Row] = _rows("rpt_sendgrid_usage_history")
    volume: list[Row] = _rows("rpt_sendgrid_monthly_volume")
    deliverability: list[Row] = _rows("rpt_sendgrid_deliverability_daily")
    seat_weeks: list[Row] = _rows("rpt_sendgrid_seat_weeks")
    seat_activity: list[Row] = _rows("rpt_sendgrid_seat_activity")
    features: list[Row] = _rows("rpt_sendgrid_features")
    key_summary: Row | None = _one_row("rpt_sendgrid_api_key_summary")
    keys_flagged: list[Row] = _rows("rpt_sendgrid_api_keys_flagged")
    suppressions: list[Row] = _rows("rpt_sendgrid_suppressions_monthly")
    recommendation: Row | None = _one_row("rpt_sendgrid_plan_recommendation")

    @property
    def tenant_id(self) -> str:
        """The tenant's id (its Airflow connection id)."""
        return str(self.overview["tenant_id"])

    @property
    def name(self) -> str:
        """The tenant's display name."""
        return str(self.overview["display_name"])

    @property
    def has_data(self) -> bool:
        """Whether a sync ever succeeded (else the page shows the state, not figures)."""
        return bool(self.overview["has_data"])

    @property
    def current_period(self) -> Row | None:
        """The credit period containing the as-of day."""
        return next((p for p in self.periods if p["is_current_period"]), None)

    @property
    def latest_seats(self) -> Row | None:
        """The seat row of the as-of day."""
        return next((s for s in self.seat_weeks if s["is_latest_day"]), None)


@dataclass(frozen=True)
class Dashboard:
    """The whole page's data."""

    portfolio: Row | None
    tenants: list[TenantView]
    generated_at: dt.datetime
    #: :data:`BUILD_STATUS_TABLE`'s rows by model name (empty when the warehouse lacks it).
    build_status: dict[str, Row] = field(default_factory=dict)


def select_model(conn: psycopg.Connection, model: str) -> list[Row]:
    """``select * from <MARTS_SCHEMA>.<model> order by <its display order>``."""
    query = sql.SQL("select * from {}.{} order by {}").format(
        sql.Identifier(MARTS_SCHEMA), sql.Identifier(model), sql.SQL(REPORTING_MODELS[model])
    )
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query)
        return cur.fetchall()


def load_build_status(conn: psycopg.Connection) -> dict[str, Row]:
    """:data:`BUILD_STATUS_TABLE`'s rows by model name; empty when the table is missing.

    A warehouse built before the table existed (or whose table lacks a column the page reads)
    still renders, without the notices.
    """
    query = sql.SQL(
        "select model_name, last_run_status, last_run_as_of_at, data_as_of_at, is_current"
        " from {}.{}"
    ).format(sql.Identifier(MARTS_SCHEMA), sql.Identifier(BUILD_STATUS_TABLE))
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:  # a savepoint
            cur.execute(query)
            return {row["model_name"]: row for row in cur.fetchall()}
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        return {}


class MissingModelsError(LookupError):
    """Reporting models the warehouse does not have (yet): ``models``, in the order read."""

    def __init__(self, models: list[str]) -> None:
        """Name the missing ``models``."""
        super().__init__(f"missing reporting models: {', '.join(models)}")
        self.models = models

    @property
    def none_built(self) -> bool:
        """Whether every reporting model is missing (the transform never ran)."""
        return len(self.models) == len(REPORTING_MODELS)


def load_dashboard(
    conn: psycopg.Connection, *, generated_at: dt.datetime | None = None
) -> Dashboard:
    """Read every reporting model the page shows (one query each), and the build status.

    Raises:
        MissingModelsError: Naming every reporting model the warehouse lacks.
    """
    rows: dict[str, list[Row]] = {}
    missing = []
    for model in REPORTING_MODELS:
        try:
            with conn.transaction():  # a savepoint: a missing model does not end the reads
                rows[model] = select_model(conn, model)
        except psycopg.errors.UndefinedTable:
            missing.append(model)
    if missing:
        raise MissingModelsError(missing)
    grouped: dict[str, dict[str, list[Row]]] = {}
    for model, model_rows in rows.items():
        by_tenant: dict[str, list[Row]] = defaultdict(list)
        for row in model_rows:
            if "tenant_id" in row:
                by_tenant[row["tenant_id"]].append(row)
        grouped[model] = by_tenant

    tenants = [_tenant_view(o, grouped) for o in rows["rpt_sendgrid_utilization_overview"]]
    portfolio = rows["rpt_sendgrid_portfolio"]
    return Dashboard(
        portfolio=portfolio[-1] if portfolio else None,
        tenants=tenants,
        generated_at=generated_at or dt.datetime.now(dt.UTC),
        build_status=load_build_status(conn),
    )


def _tenant_view(overview: Row, grouped: dict[str, dict[str, list[Row]]]) -> TenantView:
    """One tenant's view: each field gets the tenant's rows of the model it names."""
    values: dict[str, Any] = {}
    for f in fields(TenantView):
        if "model" not in f.metadata:
            continue
        found = grouped[f.metadata["model"]].get(overview["tenant_id"], [])
        values[f.name] = (found[0] if found else None) if f.metadata["one_row"] else found
    return TenantView(overview=overview, **values)
