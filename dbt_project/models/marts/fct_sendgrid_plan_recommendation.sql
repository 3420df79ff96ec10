{#-
    One row per tenant: the cheapest catalog plan that covers the tenant's volume with
    headroom and what it already uses.

    Volume = emails requested by the parent and its subusers per calendar month, over the
    last `sendgrid_recommendation_months` complete months; a tenant without a complete month
    uses its current month extrapolated to 30 days. Needed volume =
    max(peak month, p95 month x (1 + `sendgrid_plan_headroom`)). A plan covers the tenant
    when its monthly emails (null = custom, Premier) reach the needed volume, its teammate
    limit holds the seats in use, it includes enough subusers for the enabled ones, and it
    includes a dedicated IP when the tenant has one. Cheapest = lowest list price, Premier
    (custom price) last. Savings = current monthly price (contract override, else list
    price of the inferred plan) minus the recommended plan's list price; negative = the
    tenant must upgrade.
-#}
with

tenant_plans as (

    select * from {{ ref('int_sendgrid__tenant_plans') }}

),

requests_monthly as (

    select * from {{ ref('int_sendgrid__tenant_requests_monthly') }}

),

feature_usage as (

    select * from {{ ref('int_sendgrid__feature_usage') }}

),

plan_catalog as (

    select * from {{ ref('sendgrid_plan_catalog') }}

),

as_of as (

    select
        tenant_id,
        max(last_activity_date) as as_of_date
    from requests_monthly
    group by 1

),

complete_months as (

    select requests_monthly.*
    from requests_monthly
    inner join as_of on requests_monthly.tenant_id = as_of.tenant_id
    where
        requests_monthly.activity_month < date_trunc('month', as_of.as_of_date)::date
        and requests_monthly.activity_month >= (
            date_trunc('month', as_of.as_of_date)
            - interval '{{ var("sendgrid_recommendation_months") }} months'
        )::date

),

current_months as (

    select
        requests_monthly.tenant_id,
        round(
            requests_monthly.requests::numeric * 30
            / greatest(extract(day from as_of.as_of_date), 1)
        ) as extrapolated_requests
    from requests_monthly
    inner join as_of on requests_monthly.tenant_id = as_of.tenant_id
    where requests_monthly.activity_month = date_trunc('month', as_of.as_of_date)::date

),

volume as (

    select
        tenant_id,
        count(*) as months_observed,
        max(requests) as peak_monthly_requests,
        ceil(percentile_cont(0.95) within group (order by requests)) as p95_monthly_requests
    from complete_months
    group by 1

),

dedicated_ips as (

    select
        tenant_id,
        usage_count as dedicated_ip_count
    from feature_usage
    where feature_code = 'dedicated_ips'

),

needs as (

    select
        tenant_plans.tenant_id,
        tenant_plans.plan_code as current_plan_code,
        tenant_plans.tier_rank as current_tier_rank,
        tenant_plans.current_monthly_price_usd,
        tenant_plans.is_contract_price,
        tenant_plans.seats_used,
        tenant_plans.enabled_subuser_count,
        coalesce(dedicated_ips.dedicated_ip_count, 0) as dedicated_ip_count,
        coalesce(volume.months_observed, 0) as months_observed,
        coalesce(volume.peak_monthly_requests, current_months.extrapolated_requests, 0)
            as peak_monthly_requests,
        coalesce(volume.p95_monthly_requests, current_months.extrapolated_requests, 0)
            as p95_monthly_requests
    from tenant_plans
    left join volume on tenant_plans.tenant_id = volume.tenant_id
    left join current_months on tenant_plans.tenant_id = current_months.tenant_id
    left join dedicated_ips on tenant_plans.tenant_id = dedicated_ips.tenant_id

),

sized as (

    select
        *,
        ceil(greatest(
            peak_monthly_requests,
            p95_monthly_requests * (1 + {{ var('sendgrid_plan_headroom') }})
        )) as required_monthly_emails
    from needs

),

candidates as (

    select
        sized.tenant_id,
        plan_catalog.plan_code,
        plan_catalog.plan_name,
        plan_catalog.tier_rank,
        plan_catalog.monthly_emails,
        plan_catalog.monthly_price_usd,
        row_number() over (
            partition by sized.tenant_id
            order by plan_catalog.monthly_price_usd asc nulls last, plan_catalog.tier_rank asc
        ) as price_rank
    from sized
    inner join plan_catalog
        on
            coalesce(plan_catalog.monthly_emails, sized.required_monthly_emails)
            >= sized.required_monthly_emails
            and sized.seats_used <= plan_catalog.teammate_limit
            and coalesce(plan_catalog.subusers_included, sized.enabled_subuser_count)
            >= sized.enabled_subuser_count
            and (
                sized.dedicated_ip_count = 0
                or coalesce(plan_catalog.dedicated_ips_included, 1) >= 1
            )

),

final as (

    select
        sized.tenant_id::text as tenant_id,
        sized.current_plan_code::text as current_plan_code,
        sized.current_monthly_price_usd::numeric(12, 2) as current_monthly_price_usd,
        coalesce(sized.is_contract_price, false)::boolean as is_contract_price,
        sized.months_observed::integer as months_observed,
        sized.peak_monthly_requests::bigint as peak_monthly_requests,
        sized.p95_monthly_requests::bigint as p95_monthly_requests,
        sized.required_monthly_emails::bigint as required_monthly_emails,
        sized.seats_used::integer as seats_used,
        sized.enabled_subuser_count::integer as enabled_subusers,
        sized.dedicated_ip_count::integer as dedicated_ips,
        candidates.plan_code::text as recommended_plan_code,
        candidates.plan_name::text as recommended_plan_name,
        candidates.monthly_price_usd::numeric(12, 2) as recommended_monthly_price_usd,
        (sized.current_monthly_price_usd - candidates.monthly_price_usd)::numeric(12, 2)
            as estimated_monthly_savings_usd,
        (case
            when sized.current_plan_code is null then 'unknown'
            when candidates.plan_code = sized.current_plan_code then 'keep'
            when candidates.tier_rank < sized.current_tier_rank then 'downgrade'
            else 'upgrade'
        end)::text as recommendation
    from sized
    inner join candidates
        on sized.tenant_id = candidates.tenant_id and candidates.price_rank = 1

)

select * from final
