{#-
    Dashboard: the "Plan recommendation" card and the peak/p95 facts of the "Monthly volume"
    card, one row per tenant: current plan and its monthly cost (price + the overage a p95
    month would cost), the recommended plan, its price and expected overage, the monthly cost
    change (positive = the change costs more) and the sentence saying it, and the volumes and
    needs behind it.
-#}
with

plan_recommendation as (

    select * from {{ ref('fct_sendgrid_plan_recommendation') }}

),

tenants as (

    select * from {{ ref('dim_sendgrid_tenants') }}

),

final as (

    select
        plan_recommendation.tenant_id::text as tenant_id,
        plan_recommendation.current_plan_code::text as current_plan_code,
        tenants.plan_name::text as current_plan_name,
        plan_recommendation.current_monthly_price_usd::numeric(12, 2)
            as current_monthly_price_usd,
        plan_recommendation.is_contract_price::boolean as is_contract_price,
        plan_recommendation.current_monthly_overage_usd::numeric(12, 2)
            as current_monthly_overage_usd,
        plan_recommendation.current_monthly_cost_usd::numeric(12, 2)
            as current_monthly_cost_usd,
        plan_recommendation.recommended_plan_code::text as recommended_plan_code,
        plan_recommendation.recommended_plan_name::text as recommended_plan_name,
        plan_recommendation.recommended_monthly_price_usd::numeric(12, 2)
            as recommended_monthly_price_usd,
        plan_recommendation.recommended_monthly_overage_usd::numeric(12, 2)
            as recommended_monthly_overage_usd,
        plan_recommendation.monthly_cost_change_usd::numeric(12, 2) as monthly_cost_change_usd,
        plan_recommendation.recommendation::text as recommendation,
        plan_recommendation.recommendation_text::text as recommendation_text,
        plan_recommendation.months_observed::integer as months_observed,
        plan_recommendation.peak_monthly_requests::bigint as peak_monthly_requests,
        plan_recommendation.p95_monthly_requests::bigint as p95_monthly_requests,
        plan_recommendation.required_monthly_emails::bigint as required_monthly_emails,
        plan_recommendation.seats_used::integer as seats_used,
        plan_recommendation.enabled_subusers::integer as enabled_subusers,
        plan_recommendation.dedicated_ips::integer as dedicated_ips,
        plan_recommendation.as_of_at::timestamptz as as_of_at
    from plan_recommendation
    left join tenants on plan_recommendation.tenant_id = tenants.tenant_id

)

{{ sendgrid_select_with_tenant_flags('final') }}
