{#-
    One row per tenant and credit period. Run-rate projection: credits used so far divided
    by the days elapsed (the observation day counts as elapsed), times the days of the
    period. Status, in order: overage (overage > 0 or used > total), at_risk (projection
    above the credits), under_used (projection below `sendgrid_under_used_below` of the
    credits), healthy; unknown without a credit total.
-#}
with

credit_periods as (

    select * from {{ ref('int_sendgrid__credit_periods') }}

),

activity as (

    select * from {{ ref('int_sendgrid__sender_activity_daily') }}

),

period_requests as (

    select
        credit_periods.tenant_id,
        credit_periods.period_start_date,
        coalesce(sum(activity.requests), 0) as emails_requested
    from credit_periods
    left join activity
        on
            credit_periods.tenant_id = activity.tenant_id
            and credit_periods.period_start_date <= activity.activity_date
            and credit_periods.period_end_date > activity.activity_date
    group by 1, 2

),

measured as (

    select
        credit_periods.*,
        period_requests.emails_requested,
        greatest(credit_periods.period_end_date - credit_periods.period_start_date, 1)
            as period_days,
        least(
            greatest(
                (credit_periods.observed_at at time zone 'UTC')::date
                - credit_periods.period_start_date + 1,
                1
            ),
            greatest(credit_periods.period_end_date - credit_periods.period_start_date, 1)
        ) as days_elapsed
    from credit_periods
    inner join period_requests
        on
            credit_periods.tenant_id = period_requests.tenant_id
            and credit_periods.period_start_date = period_requests.period_start_date

),

projected as (

    select
        *,
        {{ safe_divide('credits_used', 'days_elapsed') }} as daily_run_rate,
        round({{ safe_divide('credits_used', 'days_elapsed') }} * period_days)
            as projected_credits_used
    from measured

),

final as (

    select
        md5(tenant_id || '|' || period_start_date::text)::text as credit_period_id,
        tenant_id::text as tenant_id,
        period_start_date::date as period_start_date,
        period_end_date::date as period_end_date,
        reset_frequency::text as reset_frequency,
        period_days::integer as period_days,
        days_elapsed::integer as days_elapsed,
        is_current_period::boolean as is_current_period,
        credits_total::bigint as credits_total,
        credits_used::bigint as credits_used,
        credits_remain::bigint as credits_remain,
        credits_overage::bigint as credits_overage,
        emails_requested::bigint as emails_requested,
        round({{ safe_divide('credits_used', 'credits_total') }} * 100, 2)
            as credits_used_pct,
        round(daily_run_rate, 2) as daily_run_rate,
        projected_credits_used::bigint as projected_credits_used,
        round({{ safe_divide('projected_credits_used', 'credits_total') }} * 100, 2)
            as projected_used_pct,
        (case
            when credits_remain <= 0 then 0
            when daily_run_rate > 0 then floor(credits_remain / daily_run_rate)
        end)::integer as days_until_exhausted,
        (case
            when credits_total is null or credits_total <= 0 then 'unknown'
            when credits_overage > 0 or credits_used > credits_total then 'overage'
            when projected_credits_used > credits_total then 'at_risk'
            when
                projected_credits_used
                < {{ var('sendgrid_under_used_below') }} * credits_total
                then 'under_used'
            else 'healthy'
        end)::text as utilization_status,
        observed_at::timestamptz as observed_at
    from projected

)

select * from final
