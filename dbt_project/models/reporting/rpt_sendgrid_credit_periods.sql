{#-
    Dashboard: the "Credits used vs plan" chart (the last 12 credit periods per tenant) and
    the "Current period" card (the row with `is_current_period`): credits used against the
    plan, the projection to the period end with its basis and confidence, and the status.
    Each period's overage is priced at the plan in force during it (period_plan_code, and
    period_plan_basis says how that is known: fct_sendgrid_plan_utilization).
-#}
with

plan_utilization as (

    select * from {{ ref('fct_sendgrid_plan_utilization') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by tenant_id order by period_start_date desc
        ) as recency_rank
    from plan_utilization

),

final as (

    select
        credit_period_id::text as credit_period_id,
        tenant_id::text as tenant_id,
        recency_rank::integer as recency_rank,
        period_start_date::date as period_start_date,
        period_end_date::date as period_end_date,
        reset_frequency::text as reset_frequency,
        period_days::integer as period_days,
        days_elapsed::integer as days_elapsed,
        days_remaining::integer as days_remaining,
        is_current_period::boolean as is_current_period,
        is_period_closed::boolean as is_period_closed,
        credits_total::bigint as credits_total,
        credits_used::bigint as credits_used,
        credits_remain::bigint as credits_remain,
        credits_overage::bigint as credits_overage,
        emails_requested::bigint as emails_requested,
        credits_used_pct::numeric as credits_used_pct,
        daily_run_rate::numeric as daily_run_rate,
        projection_basis::text as projection_basis,
        rate_days_observed::integer as rate_days_observed,
        projection_confidence::text as projection_confidence,
        projection_note::text as projection_note,
        projected_credits_used::bigint as projected_credits_used,
        projected_used_pct::numeric as projected_used_pct,
        projected_overage_emails::bigint as projected_overage_emails,
        projected_overage_cost_usd::numeric(12, 2) as projected_overage_cost_usd,
        days_until_exhausted::integer as days_until_exhausted,
        projected_exhaustion_date::date as projected_exhaustion_date,
        utilization_status::text as utilization_status,
        observed_at::timestamptz as observed_at,
        as_of_at::timestamptz as as_of_at,
        period_plan_code::text as period_plan_code,
        period_plan_basis::text as period_plan_basis
    from ranked
    where recency_rank <= 12

)

{{ sendgrid_select_with_tenant_flags('final') }}
