{#-
    Dashboard: the portfolio table and each tenant's header (one row per tenant). Every
    headline figure of a tenant at the as-of instant: profile and plan, connection and sync
    state, credits of the current period with the projection and its basis, seats and
    subuser activity, features, the 30 days of volume and rates ending on the as-of day, the
    recommendation with its monthly cost change. `display_order`: biggest senders first.

    Unknown is never zero: the 30-day volume and rates are null when the tenant's volume is
    not readable (int_sendgrid__volume_readability: missing scope, never synced) or not read
    through the as-of day (its last run failed: the 30 days would be short), 0 when it was
    read and nothing was sent; features used/licensed are null when no feature's evidence
    could be read (every feature unknown); seats, invitations and subuser counts are null
    when their stream is not readable (fct_sendgrid_seat_utilization).

    A connection that reaches a SendGrid account already connected under another id names
    that tenant (`duplicate_of_tenant_id`), a subuser of another connected tenant names its
    parent (`subuser_of_tenant_id`; dim_sendgrid_tenants); rpt_sendgrid_portfolio counts
    each account once (`is_counted_in_totals`). A deleted connection (`is_removed`) has no
    row: its data stays in the marts, out of the reports.
-#}
with

tenants as (

    select * from {{ ref('dim_sendgrid_tenants') }}
    where not is_removed

),

connection_health as (

    select * from {{ ref('fct_sendgrid_connection_health') }}

),

plan_utilization as (

    select * from {{ ref('fct_sendgrid_plan_utilization') }}
    where is_current_period

),

overage_forecast as (

    select * from {{ ref('fct_sendgrid_overage_forecast') }}

),

seat_utilization as (

    select * from {{ ref('fct_sendgrid_seat_utilization') }}
    where is_latest_day

),

feature_adoption as (

    select * from {{ ref('fct_sendgrid_feature_adoption') }}

),

daily as (

    select * from {{ ref('int_sendgrid__tenant_requests_daily') }}

),

volume_readability as (

    select * from {{ ref('int_sendgrid__volume_readability') }}

),

plan_recommendation as (

    select * from {{ ref('fct_sendgrid_plan_recommendation') }}

),

features as (

    select
        tenant_id,
        count(*) filter (where feature_state = 'used') as features_used,
        count(*) filter (where is_licensed) as features_licensed,
        count(*) filter (where feature_state = 'unused_paid') as features_unused_paid,
        count(*) filter (where feature_state = 'not_licensed') as features_not_licensed,
        count(*) filter (where feature_state = 'unknown') as features_unknown,
        count(*) filter (where feature_state <> 'unknown') as features_known
    from feature_adoption
    group by 1

),

recent_activity as (

    select
        tenant_id,
        sum(requests) as requests,
        sum(delivered) as delivered,
        sum(bounces) as bounces,
        sum(spam_reports) as spam_reports
    from daily
    where
        activity_date > {{ sendgrid_as_of_date() }} - {{ var('sendgrid_activity_window_days') }}
        and activity_date <= {{ sendgrid_as_of_date() }}
    group by 1

),

joined as (

    select
        tenants.*,
        connection_health.data_age_hours,
        connection_health.last_data_at,
        plan_utilization.credits_used_pct as period_credits_used_pct,
        plan_utilization.utilization_status,
        plan_utilization.projected_used_pct,
        plan_utilization.projection_basis,
        plan_utilization.projection_confidence,
        plan_utilization.days_until_exhausted,
        coalesce(overage_forecast.is_overage_expected, false) as is_overage_expected,
        overage_forecast.projected_overage_cost_usd,
        seat_utilization.seat_limit,
        seat_utilization.seats_used_pct,
        seat_utilization.pending_invites_valid,
        seat_utilization.subusers_total,
        seat_utilization.subusers_active_30d,
        seat_utilization.subusers_active_60d,
        seat_utilization.subusers_active_90d,
        seat_utilization.subusers_inactive_30d,
        seat_utilization.subusers_inactive_90d,
        case when features.features_known > 0 then features.features_used end as features_used,
        case when features.features_known > 0 then features.features_licensed end
            as features_licensed,
        coalesce(features.features_unused_paid, 0) as features_unused_paid,
        coalesce(features.features_not_licensed, 0) as features_not_licensed,
        coalesce(features.features_unknown, 0) as features_unknown,
        {%- for column in ['requests', 'bounces', 'delivered', 'spam_reports'] %}
            case
                when
                    volume_readability.is_readable
                    and volume_readability.covered_through_date >= {{ sendgrid_as_of_date() }}
                    then coalesce(recent_activity.{{ column }}, 0)
            end as {{ column }}_30d,
        {%- endfor %}
        plan_recommendation.recommendation,
        plan_recommendation.recommended_plan_code,
        plan_recommendation.recommended_plan_name,
        plan_recommendation.monthly_cost_change_usd,
        plan_recommendation.recommendation_text,
        coalesce(first_connected.display_name, first_connected.tenant_id)
            as duplicate_of_display_name,
        coalesce(parent.display_name, parent.tenant_id) as subuser_of_display_name
    from tenants
    left join tenants as first_connected
        on tenants.duplicate_of_tenant_id = first_connected.tenant_id
    left join tenants as parent on tenants.subuser_of_tenant_id = parent.tenant_id
    left join connection_health on tenants.tenant_id = connection_health.tenant_id
    left join plan_utilization on tenants.tenant_id = plan_utilization.tenant_id
    left join overage_forecast on tenants.tenant_id = overage_forecast.tenant_id
    left join seat_utilization on tenants.tenant_id = seat_utilization.tenant_id
    left join features on tenants.tenant_id = features.tenant_id
    left join recent_activity on tenants.tenant_id = recent_activity.tenant_id
    left join volume_readability on tenants.tenant_id = volume_readability.tenant_id
    left join plan_recommendation on tenants.tenant_id = plan_recommendation.tenant_id

),

final as (

    select
        tenant_id::text as tenant_id,
        (row_number() over (
            order by
                requests_30d desc nulls last,
                coalesce(display_name, tenant_id) asc,
                tenant_id asc
        ))::integer as display_order,
        coalesce(display_name, tenant_id)::text as display_name,
        company_name::text as company_name,
        region::text as region,
        account_type::text as account_type,
        reputation::numeric as reputation,
        plan_code::text as plan_code,
        plan_name::text as plan_name,
        plan_inference_basis::text as plan_inference_basis,
        connection_status::text as connection_status,
        sync_state::text as sync_state,
        coalesce(has_data, false)::boolean as has_data,
        last_successful_sync_at::timestamptz as last_successful_sync_at,
        data_age_hours::numeric as data_age_hours,
        credits_total::bigint as credits_total,
        credits_used::bigint as credits_used,
        period_credits_used_pct::numeric as credits_used_pct,
        coalesce(utilization_status, 'unknown')::text as utilization_status,
        projected_used_pct::numeric as projected_used_pct,
        projection_basis::text as projection_basis,
        projection_confidence::text as projection_confidence,
        days_until_exhausted::integer as days_until_exhausted,
        is_overage_expected::boolean as is_overage_expected,
        projected_overage_cost_usd::numeric(12, 2) as projected_overage_cost_usd,
        seats_used::integer as seats_used,
        seat_limit::integer as seat_limit,
        seats_used_pct::numeric as seats_used_pct,
        pending_invites_valid::integer as pending_invites_valid,
        subusers_total::integer as subusers_total,
        enabled_subuser_count::integer as subusers_enabled,
        subusers_active_30d::integer as subusers_active_30d,
        subusers_active_60d::integer as subusers_active_60d,
        subusers_active_90d::integer as subusers_active_90d,
        subusers_inactive_30d::integer as subusers_inactive_30d,
        subusers_inactive_90d::integer as subusers_inactive_90d,
        features_used::integer as features_used,
        features_licensed::integer as features_licensed,
        features_unused_paid::integer as features_unused_paid,
        features_not_licensed::integer as features_not_licensed,
        features_unknown::integer as features_unknown,
        requests_30d::bigint as requests_30d,
        round({{ safe_divide('bounces_30d', 'requests_30d') }}, 6) as bounce_rate_30d,
        round({{ safe_divide('spam_reports_30d', 'delivered_30d') }}, 6) as spam_report_rate_30d,
        coalesce(recommendation, 'no_data')::text as recommendation,
        recommended_plan_code::text as recommended_plan_code,
        recommended_plan_name::text as recommended_plan_name,
        monthly_cost_change_usd::numeric(12, 2) as monthly_cost_change_usd,
        recommendation_text::text as recommendation_text,
        duplicate_of_tenant_id::text as duplicate_of_tenant_id,
        duplicate_of_display_name::text as duplicate_of_display_name,
        subuser_of_tenant_id::text as subuser_of_tenant_id,
        subuser_of_display_name::text as subuser_of_display_name,
        is_counted_in_totals::boolean as is_counted_in_totals,
        is_removed::boolean as is_removed,
        {{ sendgrid_as_of() }} as as_of_at
    from joined

)

select * from final
