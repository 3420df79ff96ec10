{#-
    Dashboard and BI: usage against plan over past periods, from the snapshots every
    transform run keeps (fct_sendgrid_plan_utilization_history): per tenant and credit
    period, the latest snapshot (the period's last known use, projection and status) and
    how many runs observed it.
-#}
with

history as (

    select * from {{ ref('fct_sendgrid_plan_utilization_history') }}
    where as_of_at <= {{ sendgrid_as_of() }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by tenant_id, period_start_date order by as_of_at desc
        ) as snapshot_rank,
        count(*) over (partition by tenant_id, period_start_date) as snapshot_count,
        min(as_of_at) over (partition by tenant_id, period_start_date) as first_as_of_at
    from history

),

final as (

    select
        md5(tenant_id || '|' || period_start_date::text)::text as usage_period_id,
        tenant_id::text as tenant_id,
        period_start_date::date as period_start_date,
        period_end_date::date as period_end_date,
        snapshot_count::integer as snapshot_count,
        first_as_of_at::timestamptz as first_as_of_at,
        as_of_at::timestamptz as last_as_of_at,
        days_elapsed::integer as days_elapsed,
        period_days::integer as period_days,
        credits_total::bigint as credits_total,
        credits_used::bigint as credits_used,
        credits_used_pct::numeric as credits_used_pct,
        projected_credits_used::bigint as projected_credits_used,
        projected_used_pct::numeric as projected_used_pct,
        projection_basis::text as projection_basis,
        utilization_status::text as utilization_status
    from ranked
    where snapshot_rank = 1

)

{{ sendgrid_select_with_tenant_flags('final') }}
