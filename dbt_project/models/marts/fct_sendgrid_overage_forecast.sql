{#-
    Overage ahead: one row per tenant with data and an open current credit period at the
    as-of instant, flagging the tenants whose projected volume passes the plan's credits
    before the period ends (`is_overage_expected`: status at_risk, i.e. projected from at
    least `sendgrid_projection_min_days` days of data, or already over). Gives the projected
    date the credits run out and the projected overage (emails and cost at the plan's
    overage rate). sendgrid_elt.overage_alerts sends one alert per tenant and period from it.
-#}
with

plan_utilization as (

    select * from {{ ref('fct_sendgrid_plan_utilization') }}
    where is_current_period and not is_period_closed

),

tenants as (

    select * from {{ ref('dim_sendgrid_tenants') }}
    where has_data

),

final as (

    select
        plan_utilization.credit_period_id::text as credit_period_id,
        plan_utilization.tenant_id::text as tenant_id,
        tenants.display_name::text as display_name,
        tenants.plan_name::text as plan_name,
        plan_utilization.period_start_date::date as period_start_date,
        plan_utilization.period_end_date::date as period_end_date,
        plan_utilization.days_remaining::integer as days_remaining,
        plan_utilization.credits_total::bigint as credits_total,
        plan_utilization.credits_used::bigint as credits_used,
        plan_utilization.daily_run_rate::numeric as daily_run_rate,
        plan_utilization.projection_basis::text as projection_basis,
        plan_utilization.projection_note::text as projection_note,
        plan_utilization.projection_confidence::text as projection_confidence,
        plan_utilization.projected_credits_used::bigint as projected_credits_used,
        plan_utilization.projected_used_pct::numeric as projected_used_pct,
        plan_utilization.projected_exhaustion_date::date as projected_exhaustion_date,
        plan_utilization.projected_overage_emails::bigint as projected_overage_emails,
        plan_utilization.projected_overage_cost_usd::numeric(12, 2)
            as projected_overage_cost_usd,
        plan_utilization.utilization_status::text as utilization_status,
        (plan_utilization.utilization_status = 'overage')::boolean as is_over_plan,
        (plan_utilization.utilization_status in ('overage', 'at_risk'))::boolean
            as is_overage_expected,
        (
            case
                when plan_utilization.utilization_status = 'overage'
                    then
                        'already over plan: '
                        || {{ sendgrid_format_int('plan_utilization.credits_used') }}
                        || ' of ' || {{ sendgrid_format_int('plan_utilization.credits_total') }}
                        || ' credits used, projected '
                        || {{ sendgrid_format_int('plan_utilization.projected_credits_used') }}
                        || ' by ' || {{ sendgrid_format_date('plan_utilization.period_end_date') }}
                when plan_utilization.utilization_status = 'at_risk'
                    then
                        'projected to pass its '
                        || {{ sendgrid_format_int('plan_utilization.credits_total') }}
                        || ' credits on '
                        || coalesce({{
                            sendgrid_format_date('plan_utilization.projected_exhaustion_date')
                        }}, 'an unknown day')
                        || ' (period ends '
                        || {{ sendgrid_format_date('plan_utilization.period_end_date') }}
                        || '), '
                        || {{ sendgrid_format_int('plan_utilization.projected_overage_emails') }}
                        || ' emails over'
            end
            || case
                when
                    plan_utilization.utilization_status in ('overage', 'at_risk')
                    and plan_utilization.projected_overage_cost_usd is not null
                    then
                        ', about '
                        || {{ sendgrid_format_usd('plan_utilization.projected_overage_cost_usd') }}
                        || ' in overage'
                else ''
            end
            || ' (' || plan_utilization.projection_note || ')'
        )::text as alert_text,
        plan_utilization.as_of_at::timestamptz as as_of_at
    from plan_utilization
    inner join tenants on plan_utilization.tenant_id = tenants.tenant_id

)

select * from final
