{#-
    Dashboard and alerts: the overage warnings, one row per tenant whose projected volume
    passes its plan before the current period ends (or already did): the projected day the
    credits run out, the projected overage in emails and dollars, the projection's basis and
    confidence, and the alert sentence (fct_sendgrid_overage_forecast).

    One row per SendGrid account: a connection that reaches an account already connected
    under another id, or a subuser of another connected tenant, is left out
    (dim_sendgrid_tenants.is_counted_in_totals), so the account gets one alert, under the
    tenant that counts it.
-#}
with

overage_forecast as (

    select * from {{ ref('fct_sendgrid_overage_forecast') }}
    where is_overage_expected

),

counted_elsewhere as (

    select tenant_id from {{ ref('dim_sendgrid_tenants') }}
    where not is_counted_in_totals

),

final as (

    select
        credit_period_id::text as credit_period_id,
        tenant_id::text as tenant_id,
        display_name::text as display_name,
        plan_name::text as plan_name,
        period_start_date::date as period_start_date,
        period_end_date::date as period_end_date,
        days_remaining::integer as days_remaining,
        credits_total::bigint as credits_total,
        credits_used::bigint as credits_used,
        daily_run_rate::numeric as daily_run_rate,
        projection_basis::text as projection_basis,
        projection_confidence::text as projection_confidence,
        projected_credits_used::bigint as projected_credits_used,
        projected_used_pct::numeric as projected_used_pct,
        projected_exhaustion_date::date as projected_exhaustion_date,
        projected_overage_emails::bigint as projected_overage_emails,
        projected_overage_cost_usd::numeric(12, 2) as projected_overage_cost_usd,
        is_over_plan::boolean as is_over_plan,
        alert_text::text as alert_text,
        as_of_at::timestamptz as as_of_at
    from overage_forecast
    where tenant_id not in (select counted_elsewhere.tenant_id from counted_elsewhere)

)

{{ sendgrid_select_with_tenant_flags('final') }}
