{#- One row per tenant (SendGrid organization connected to Airflow) with its current state. -#}
with

tenant_plans as (

    select * from {{ ref('int_sendgrid__tenant_plans') }}

),

connection_health as (

    select * from {{ ref('fct_sendgrid_connection_health') }}

),

final as (

    select
        tenant_plans.tenant_id::text as tenant_id,
        tenant_plans.display_name::text as display_name,
        tenant_plans.region::text as region,
        tenant_plans.account_type::text as account_type,
        tenant_plans.reputation::numeric as reputation,
        tenant_plans.credits_total::bigint as credits_total,
        tenant_plans.credits_used::bigint as credits_used,
        tenant_plans.reset_frequency::text as credits_reset_frequency,
        tenant_plans.plan_code::text as plan_code,
        tenant_plans.plan_name::text as plan_name,
        tenant_plans.plan_inference_basis::text as plan_inference_basis,
        tenant_plans.seats_used::integer as seats_used,
        tenant_plans.subuser_count::integer as subuser_count,
        tenant_plans.enabled_subuser_count::integer as enabled_subuser_count,
        connection_health.connection_status::text as connection_status,
        connection_health.last_success_at::timestamptz as last_successful_sync_at
    from tenant_plans
    left join connection_health on tenant_plans.tenant_id = connection_health.tenant_id

)

select * from final
