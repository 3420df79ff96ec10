{#-
    One row per tenant with the dashboard's headline figures. Volume and rates cover the
    `sendgrid_activity_window_days` days ending on the tenant's latest stats day.
-#}
with

tenants as (

    select * from {{ ref('dim_sendgrid_tenants') }}

),

plan_utilization as (

    select * from {{ ref('fct_sendgrid_plan_utilization') }}
    where is_current_period

),

seat_utilization as (

    select * from {{ ref('fct_sendgrid_seat_utilization') }}
    where is_latest_day

),

feature_adoption as (

    select * from {{ ref('fct_sendgrid_feature_adoption') }}

),

email_activity as (

    select * from {{ ref('fct_sendgrid_email_activity_daily') }}

),

plan_recommendation as (

    select * from {{ ref('fct_sendgrid_plan_recommendation') }}

),

features as (

    select
        tenant_id,
        count(*) filter (where is_used) as features_used,
        count(*) filter (where is_licensed) as features_licensed
    from feature_adoption
    group by 1

),

latest_day as (

    select
        tenant_id,
        max(activity_date) as last_activity_date
    from email_activity
    group by 1

),

recent_activity as (

    select
        email_activity.tenant_id,
        sum(email_activity.requests) as requests,
        sum(email_activity.delivered) as delivered,
        sum(email_activity.bounces) as bounces,
        sum(email_activity.spam_reports) as spam_reports
    from email_activity
    inner join latest_day on email_activity.tenant_id = latest_day.tenant_id
    where
        email_activity.activity_date
        > latest_day.last_activity_date - {{ var('sendgrid_activity_window_days') }}
    group by 1

),

final as (

    select
        tenants.tenant_id::text as tenant_id,
        tenants.display_name::text as display_name,
        tenants.plan_name::text as plan_name,
        tenants.connection_status::text as connection_status,
        plan_utilization.credits_used_pct::numeric as credits_used_pct,
        plan_utilization.utilization_status::text as utilization_status,
        seat_utilization.seats_used_pct::numeric as seats_used_pct,
        coalesce(features.features_used, 0)::integer as features_used,
        coalesce(features.features_licensed, 0)::integer as features_licensed,
        coalesce(recent_activity.requests, 0)::bigint as requests_30d,
        round({{ safe_divide('recent_activity.bounces', 'recent_activity.requests') }}, 6)
            as bounce_rate_30d,
        round(
            {{ safe_divide('recent_activity.spam_reports', 'recent_activity.delivered') }}, 6
        ) as spam_report_rate_30d,
        plan_recommendation.recommended_plan_name::text as recommended_plan_name,
        plan_recommendation.recommendation::text as recommendation,
        plan_recommendation.estimated_monthly_savings_usd::numeric(12, 2)
            as estimated_monthly_savings_usd,
        tenants.last_successful_sync_at::timestamptz as last_successful_sync_at
    from tenants
    left join plan_utilization on tenants.tenant_id = plan_utilization.tenant_id
    left join seat_utilization on tenants.tenant_id = seat_utilization.tenant_id
    left join features on tenants.tenant_id = features.tenant_id
    left join recent_activity on tenants.tenant_id = recent_activity.tenant_id
    left join plan_recommendation on tenants.tenant_id = plan_recommendation.tenant_id

)

select * from final
