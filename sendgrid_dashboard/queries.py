"""Read the utilization marts (schema ``sendgrid_marts``) into typed dataclasses.

Only the marts are read, with plain selects. The few aggregates here are counts and sums of
mart columns (portfolio totals in ``rpt_sendgrid_portfolio``, monthly request volume
as ``sum(requests)`` by ``date_trunc('month')`` of the daily activity mart, key counts of
``dim_sendgrid_api_keys``); no rate or percentage is recomputed: every rate on the dashboard is
a mart column as the mart computed it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from sendgrid_elt.settings import MARTS_SCHEMA

CREDIT_PERIODS_SHOWN = 12
VOLUME_MONTHS_SHOWN = 12
RATE_DAYS_SHOWN = 90
SEAT_WEEKS_SHOWN = 13
SUPPRESSION_MONTHS_SHOWN = 12
KEYS_LISTED = 5

T = TypeVar("T")


def _build(cls: type[T], row: dict[str, Any]) -> T:
    """A dataclass from a row, taking the columns that are fields of ``cls``."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in row.items() if k in names})


@dataclass(frozen=True)
class Portfolio:
    """``rpt_sendgrid_portfolio``: totals over all tenants (one row)."""

    tenant_count: int
    connected_count: int
    needs_reconnect_count: int
    degraded_count: int
    requests_30d: int
    credits_at_risk_count: int
    credits_overage_count: int
    features_used: int
    features_licensed: int
    downgrade_savings_usd: Decimal
    downgrade_count: int
    last_successful_sync_at: dt.datetime | None


@dataclass(frozen=True)
class Overview:
    """``rpt_sendgrid_utilization_overview``: the tenant's headline figures."""

    tenant_id: str
    display_name: str | None
    plan_name: str | None
    connection_status: str
    credits_used_pct: Decimal | None
    utilization_status: str | None
    seats_used_pct: Decimal | None
    features_used: int
    features_licensed: int
    requests_30d: int
    bounce_rate_30d: Decimal | None
    spam_report_rate_30d: Decimal | None
    recommended_plan_name: str | None
    recommendation: str | None
    monthly_cost_change_usd: Decimal | None
    recommendation_text: str | None
    last_successful_sync_at: dt.datetime | None


@dataclass(frozen=True)
class TenantInfo:
    """``dim_sendgrid_tenants``."""

    tenant_id: str
    display_name: str | None
    region: str | None
    account_type: str | None
    reputation: Decimal | None
    credits_total: int | None
    credits_used: int | None
    credits_reset_frequency: str | None
    plan_code: str | None
    plan_name: str | None
    plan_inference_basis: str | None
    seats_used: int
    subuser_count: int
    enabled_subuser_count: int
    connection_status: str
    last_successful_sync_at: dt.datetime | None


@dataclass(frozen=True)
class CreditPeriod:
    """``fct_sendgrid_plan_utilization``: one credit period."""

    period_start_date: dt.date
    period_end_date: dt.date
    reset_frequency: str | None
    period_days: int
    days_elapsed: int
    is_current_period: bool
    credits_total: int | None
    credits_used: int | None
    credits_remain: int | None
    credits_overage: int | None
    emails_requested: int
    credits_used_pct: Decimal | None
    daily_run_rate: Decimal | None
    projected_credits_used: int | None
    projected_used_pct: Decimal | None
    days_until_exhausted: int | None
    utilization_status: str
    observed_at: dt.datetime


@dataclass(frozen=True)
class MonthlyVolume:
    """``sum(requests)`` of ``fct_sendgrid_email_activity_daily`` per calendar month."""

    month: dt.date
    parent_requests: int
    subuser_requests: int
    requests: int
    last_activity_date: dt.date


@dataclass(frozen=True)
class RateDay:
    """One day of ``fct_sendgrid_email_activity_daily`` for the charted sender."""

    activity_date: dt.date
    requests: int
    delivered: int
    delivery_rate: Decimal | None
    bounce_rate: Decimal | None
    spam_report_rate: Decimal | None


@dataclass(frozen=True)
class Deliverability:
    """Daily rates of the tenant's busiest sender over the last ``RATE_DAYS_SHOWN`` days."""

    sender_type: str
    subuser_username: str
    sender_username: str
    sender_count: int
    days: list[RateDay]


@dataclass(frozen=True)
class SeatDay:
    """``fct_sendgrid_seat_utilization``: one (weekly sampled) day."""

    seat_date: dt.date
    owner_count: int
    admin_count: int
    teammate_count: int
    seats_used: int
    pending_invites_valid: int
    pending_invites_expired: int
    plan_code: str | None
    seat_limit: int | None
    seats_used_pct: Decimal | None
    subusers_total: int
    subusers_disabled: int
    subusers_active_30d: int
    subusers_inactive_30d: int
    is_latest_day: bool


@dataclass(frozen=True)
class Feature:
    """``fct_sendgrid_feature_adoption``: one feature of the catalog."""

    feature_code: str
    feature_name: str
    is_licensed: bool | None
    is_used: bool
    usage_count: int
    usage_limit: int | None
    usage_limit_pct: Decimal | None
    last_activity_at: dt.datetime | None
    evidence_stream: str
    evidence_stream_status: str
    usage_measure: str

    @property
    def state(self) -> str:
        """used, unused_paid (licensed, not used), not_licensed, or unknown (license)."""
        if self.is_used:
            return "used"
        if self.is_licensed is True:
            return "unused_paid"
        if self.is_licensed is False:
            return "not_licensed"
        return "unknown"


@dataclass(frozen=True)
class ApiKey:
    """``dim_sendgrid_api_keys``: one key (name and scopes only)."""

    subuser_username: str
    api_key_id: str
    api_key_name: str | None
    scope_count: int | None
    has_full_access: bool | None
    is_deleted: bool
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    deleted_at: dt.datetime | None


@dataclass(frozen=True)
class ApiKeyRisk:
    """Counts of ``dim_sendgrid_api_keys`` rows, and the keys worth naming."""

    total_keys: int = 0
    active_keys: int = 0
    full_access_keys: int = 0
    unknown_scope_keys: int = 0
    deleted_keys: int = 0
    full_access: list[ApiKey] = field(default_factory=list)
    recently_deleted: list[ApiKey] = field(default_factory=list)


@dataclass(frozen=True)
class SuppressionMonth:
    """``fct_sendgrid_suppressions_monthly``: one month and kind."""

    suppression_month: dt.date
    suppression_kind: str
    new_suppressions: int
    cumulative_suppressions: int


@dataclass(frozen=True)
class ConnectionHealth:
    """``fct_sendgrid_connection_health``."""

    connection_status: str
    status_since_at: dt.datetime | None
    last_error: str | None
    last_success_at: dt.datetime | None
    last_checked_at: dt.datetime | None
    data_age_hours: Decimal | None
    missing_scopes: str | None
    streams_missing_scopes: str | None
    missing_scope_stream_count: int
    streams_not_licensed: str | None
    not_licensed_stream_count: int
    streams_in_error: str | None
    ok_stream_count: int


@dataclass(frozen=True)
class Recommendation:
    """``fct_sendgrid_plan_recommendation``."""

    current_plan_code: str | None
    current_monthly_price_usd: Decimal | None
    is_contract_price: bool
    months_observed: int
    peak_monthly_requests: int
    p95_monthly_requests: int
    required_monthly_emails: int
    seats_used: int
    enabled_subusers: int
    dedicated_ips: int
    recommended_plan_code: str | None
    recommended_plan_name: str | None
    recommended_monthly_price_usd: Decimal | None
    monthly_cost_change_usd: Decimal | None
    recommendation: str
    recommendation_text: str


@dataclass(frozen=True)
class Tenant:
    """Everything the dashboard shows for one tenant."""

    info: TenantInfo
    overview: Overview | None
    periods: list[CreditPeriod]
    volume: list[MonthlyVolume]
    deliverability: Deliverability | None
    seats: list[SeatDay]
    features: list[Feature]
    api_keys: ApiKeyRisk
    suppressions: list[SuppressionMonth]
    health: ConnectionHealth | None
    recommendation: Recommendation | None

    @property
    def tenant_id(self) -> str:
        return self.info.tenant_id

    @property
    def name(self) -> str:
        return self.info.display_name or self.info.tenant_id

    @property
    def connection_status(self) -> str:
        return self.health.connection_status if self.health else self.info.connection_status

    @property
    def current_period(self) -> CreditPeriod | None:
        return next((p for p in reversed(self.periods) if p.is_current_period), None)

    @property
    def latest_seats(self) -> SeatDay | None:
        return next((s for s in reversed(self.seats) if s.is_latest_day), None)


@dataclass(frozen=True)
class Dashboard:
    """The whole page's data."""

    portfolio: Portfolio
    tenants: list[Tenant]
    generated_at: dt.datetime


def _rows(conn: psycopg.Connection, query: str) -> list[dict[str, Any]]:
    text = sql.SQL(query).format(schema=sql.Identifier(MARTS_SCHEMA))
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(text)
        return cur.fetchall()


def _by_tenant(rows: list[dict[str, Any]], cls: type[T]) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = defaultdict(list)
    for row in rows:
        grouped[row["tenant_id"]].append(_build(cls, row))
    return grouped


_PORTFOLIO = "select * from {schema}.rpt_sendgrid_portfolio"

#: What the header shows before the first transform (rpt_sendgrid_portfolio has no row yet).
_EMPTY_PORTFOLIO = Portfolio(0, 0, 0, 0, 0, 0, 0, 0, 0, Decimal(0), 0, None)

_TENANTS = "select * from {schema}.dim_sendgrid_tenants order by display_name, tenant_id"
_OVERVIEW = "select * from {schema}.rpt_sendgrid_utilization_overview"

_PERIODS = """
select * from (
    select
        *,
        row_number() over (partition by tenant_id order by period_start_date desc) as recency
    from {schema}.fct_sendgrid_plan_utilization
) as periods
where recency <= %(n)s
order by tenant_id, period_start_date
""".replace("%(n)s", str(CREDIT_PERIODS_SHOWN))

_VOLUME = """
with activity as (
    select * from {schema}.fct_sendgrid_email_activity_daily
),

bounds as (
    select tenant_id, max(activity_date) as last_activity_date
    from activity
    group by tenant_id
)

select
    activity.tenant_id,
    date_trunc('month', activity.activity_date)::date as month,
    coalesce(sum(activity.requests) filter (where activity.sender_type = 'parent'), 0)::bigint
        as parent_requests,
    coalesce(sum(activity.requests) filter (where activity.sender_type = 'subuser'), 0)::bigint
        as subuser_requests,
    sum(activity.requests)::bigint as requests,
    max(bounds.last_activity_date) as last_activity_date
from activity
inner join bounds on activity.tenant_id = bounds.tenant_id
where activity.activity_date
    >= date_trunc('month', bounds.last_activity_date) - interval '@months months'
group by activity.tenant_id, date_trunc('month', activity.activity_date)
order by activity.tenant_id, month
""".replace("@months", str(VOLUME_MONTHS_SHOWN - 1))

# The busiest sender of the window (parent first on a tie): the mart's rates are per sender and
# day, and are shown as the mart computed them, not re-aggregated across senders.
_RATES = """
with activity as (
    select * from {schema}.fct_sendgrid_email_activity_daily
),

bounds as (
    select tenant_id, max(activity_date) as last_activity_date
    from activity
    group by tenant_id
),

windowed as (
    select activity.*
    from activity
    inner join bounds on activity.tenant_id = bounds.tenant_id
    where activity.activity_date > bounds.last_activity_date - @days
),

senders as (
    select
        tenant_id,
        sender_type,
        subuser_username,
        max(sender_username) as sender_username,
        sum(requests) as requests,
        count(*) over (partition by tenant_id) as sender_count
    from windowed
    group by tenant_id, sender_type, subuser_username
),

busiest as (
    select distinct on (tenant_id) *
    from senders
    order by tenant_id, requests desc, (sender_type = 'parent') desc, subuser_username
)

select
    windowed.tenant_id,
    busiest.sender_type,
    busiest.subuser_username,
    busiest.sender_username,
    busiest.sender_count,
    windowed.activity_date,
    windowed.requests,
    windowed.delivered,
    windowed.delivery_rate,
    windowed.bounce_rate,
    windowed.spam_report_rate
from windowed
inner join busiest
    on windowed.tenant_id = busiest.tenant_id
    and windowed.sender_type = busiest.sender_type
    and windowed.subuser_username = busiest.subuser_username
order by windowed.tenant_id, windowed.activity_date
""".replace("@days", str(RATE_DAYS_SHOWN))

# Weekly samples ending on the latest day (rows as they are, every 7th day back).
_SEATS = """
with latest as (
    select tenant_id, max(seat_date) as latest_date
    from {schema}.fct_sendgrid_seat_utilization
    group by tenant_id
)

select seats.*
from {schema}.fct_sendgrid_seat_utilization as seats
inner join latest on seats.tenant_id = latest.tenant_id
where (latest.latest_date - seats.seat_date) % 7 = 0
    and seats.seat_date > latest.latest_date - 7 * @weeks
order by seats.tenant_id, seats.seat_date
""".replace("@weeks", str(SEAT_WEEKS_SHOWN))

_FEATURES = """
select * from {schema}.fct_sendgrid_feature_adoption
order by tenant_id, is_used desc, is_licensed desc nulls last, feature_name
"""

_KEY_COUNTS = """
select
    tenant_id,
    count(*) as total_keys,
    count(*) filter (where not is_deleted) as active_keys,
    count(*) filter (where not is_deleted and has_full_access) as full_access_keys,
    count(*) filter (where not is_deleted and has_full_access is null) as unknown_scope_keys,
    count(*) filter (where is_deleted) as deleted_keys
from {schema}.dim_sendgrid_api_keys
group by tenant_id
"""

_KEYS_LISTED = """
select * from (
    select
        *,
        row_number() over (
            partition by tenant_id, is_deleted
            order by coalesce(deleted_at, first_seen_at) desc, api_key_name, api_key_id
        ) as recency
    from {schema}.dim_sendgrid_api_keys
    where is_deleted or has_full_access
) as keys
where recency <= @n
order by tenant_id, is_deleted, recency
""".replace("@n", str(KEYS_LISTED))

_SUPPRESSIONS = """
with bounds as (
    select tenant_id, max(suppression_month) as last_month
    from {schema}.fct_sendgrid_suppressions_monthly
    group by tenant_id
)

select suppressions.*
from {schema}.fct_sendgrid_suppressions_monthly as suppressions
inner join bounds on suppressions.tenant_id = bounds.tenant_id
where suppressions.suppression_month > bounds.last_month - interval '@months months'
order by suppressions.tenant_id, suppressions.suppression_month, suppressions.suppression_kind
""".replace("@months", str(SUPPRESSION_MONTHS_SHOWN))

_HEALTH = "select * from {schema}.fct_sendgrid_connection_health"
_RECOMMENDATION = "select * from {schema}.fct_sendgrid_plan_recommendation"


def load_dashboard(
    conn: psycopg.Connection, *, generated_at: dt.datetime | None = None
) -> Dashboard:
    """Read every mart the dashboard shows; one query per mart (and a few per-tenant slices)."""
    portfolio_rows = _rows(conn, _PORTFOLIO)
    portfolio = _build(Portfolio, portfolio_rows[0]) if portfolio_rows else _EMPTY_PORTFOLIO
    overview = {r["tenant_id"]: _build(Overview, r) for r in _rows(conn, _OVERVIEW)}
    periods = _by_tenant(_rows(conn, _PERIODS), CreditPeriod)
    volume = _by_tenant(_rows(conn, _VOLUME), MonthlyVolume)
    seats = _by_tenant(_rows(conn, _SEATS), SeatDay)
    features = _by_tenant(_rows(conn, _FEATURES), Feature)
    suppressions = _by_tenant(_rows(conn, _SUPPRESSIONS), SuppressionMonth)
    health = {r["tenant_id"]: _build(ConnectionHealth, r) for r in _rows(conn, _HEALTH)}
    recommendation = {
        r["tenant_id"]: _build(Recommendation, r) for r in _rows(conn, _RECOMMENDATION)
    }

    rate_rows = _rows(conn, _RATES)
    deliverability: dict[str, Deliverability] = {}
    for tenant_id, days in _by_tenant(rate_rows, RateDay).items():
        first = next(r for r in rate_rows if r["tenant_id"] == tenant_id)
        deliverability[tenant_id] = Deliverability(
            sender_type=first["sender_type"],
            subuser_username=first["subuser_username"],
            sender_username=first["sender_username"],
            sender_count=first["sender_count"],
            days=days,
        )

    listed = _by_tenant(_rows(conn, _KEYS_LISTED), ApiKey)
    keys: dict[str, ApiKeyRisk] = {}
    for row in _rows(conn, _KEY_COUNTS):
        tenant_keys = listed.get(row["tenant_id"], [])
        keys[row["tenant_id"]] = ApiKeyRisk(
            **{k: v for k, v in row.items() if k != "tenant_id"},
            full_access=[k for k in tenant_keys if not k.is_deleted],
            recently_deleted=[k for k in tenant_keys if k.is_deleted],
        )

    # Biggest senders first: the organizations that matter most to the bill lead the page.
    tenants = [
        Tenant(
            info=info,
            overview=overview.get(info.tenant_id),
            periods=periods.get(info.tenant_id, []),
            volume=volume.get(info.tenant_id, []),
            deliverability=deliverability.get(info.tenant_id),
            seats=seats.get(info.tenant_id, []),
            features=features.get(info.tenant_id, []),
            api_keys=keys.get(info.tenant_id, ApiKeyRisk()),
            suppressions=suppressions.get(info.tenant_id, []),
            health=health.get(info.tenant_id),
            recommendation=recommendation.get(info.tenant_id),
        )
        for info in (_build(TenantInfo, r) for r in _rows(conn, _TENANTS))
    ]
    tenants.sort(key=lambda t: (-(t.overview.requests_30d if t.overview else 0), t.name))
    return Dashboard(
        portfolio=portfolio,
        tenants=tenants,
        generated_at=generated_at or dt.datetime.now(dt.UTC),
    )
