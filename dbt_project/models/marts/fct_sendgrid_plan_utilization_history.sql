{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'period_start_date', 'as_of_at'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        full_refresh=false,
        pre_hook=[
            """{% if is_incremental() %}
                -- emails_requested became nullable (an unknown volume): relax a table built before
                alter table {{ this }} alter column emails_requested drop not null
            {% endif %}"""
        ]
    )
}}

{#-
    History: every transform run adds, per tenant, a snapshot of its current credit period as
    fct_sendgrid_plan_utilization saw it at the run's as-of instant (key: tenant, period,
    as-of). Rows of earlier runs are kept, so usage against plan can be shown over past
    periods and within a period, even after staging moved on. A rebuild at the same as-of
    replaces that as-of's rows (same content), never duplicates them; `--full-refresh` does
    not erase it (full_refresh=false).
    Only fresh readings are snapshotted: a tenant whose credits were not read by the extract
    run of this as-of (its extraction failed) has no snapshot at it, rather than an earlier
    reading shown as the use at this instant. Fresh = the reading was taken by the extract
    run whose as-of is this one or a later one (stg_sendgrid__extract_runs); when that run is
    not recorded, read at or after the as-of instant (a run reads after its as-of).
    A snapshot keeps the plan then in force (`period_plan_code`, the current plan at its
    as-of) and the projected overage priced at it: a snapshot taken before a plan change
    keeps the old plan's price, never repriced at today's.
-#}
with

plan_utilization as (

    select * from {{ ref('fct_sendgrid_plan_utilization') }}
    where is_current_period

),

credit_periods as (

    select * from {{ ref('int_sendgrid__credit_periods') }}

),

extract_runs as (

    select * from {{ ref('stg_sendgrid__extract_runs') }}

),

readings as (

    select
        credit_periods.tenant_id,
        credit_periods.period_start_date,
        coalesce(extract_runs.as_of_at, credit_periods.observed_at) as read_as_of_at
    from credit_periods
    left join extract_runs
        on credit_periods.observed_extract_run_id = extract_runs.extract_run_id

),

fresh as (

    select plan_utilization.*
    from plan_utilization
    inner join readings
        on
            plan_utilization.tenant_id = readings.tenant_id
            and plan_utilization.period_start_date = readings.period_start_date
    where readings.read_as_of_at >= plan_utilization.as_of_at

),

final as (

    select
        -- as_of_at as a UTC session writes it (timestamptz::text follows the session's TimeZone)
        md5(
            tenant_id || '|' || period_start_date::text || '|'
            || (as_of_at at time zone 'UTC')::text || '+00'
        )::text
            as utilization_snapshot_id,
        tenant_id::text as tenant_id,
        period_start_date::date as period_start_date,
        period_end_date::date as period_end_date,
        as_of_at::timestamptz as as_of_at,
        period_days::integer as period_days,
        days_elapsed::integer as days_elapsed,
        is_period_closed::boolean as is_period_closed,
        credits_total::bigint as credits_total,
        credits_used::bigint as credits_used,
        credits_used_pct::numeric as credits_used_pct,
        emails_requested::bigint as emails_requested,
        daily_run_rate::numeric as daily_run_rate,
        projection_basis::text as projection_basis,
        projection_confidence::text as projection_confidence,
        projected_credits_used::bigint as projected_credits_used,
        projected_used_pct::numeric as projected_used_pct,
        utilization_status::text as utilization_status,
        -- priced at the plan in force at the snapshot's as-of (the period was current then),
        -- kept so a period staging no longer holds still has the plan it was on
        projected_overage_cost_usd::numeric(12, 2) as projected_overage_cost_usd,
        period_plan_code::text as period_plan_code
    from fresh

)

select * from final
