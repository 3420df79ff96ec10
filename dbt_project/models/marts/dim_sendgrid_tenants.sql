{#-
    One row per tenant (SendGrid organization connected to Airflow) with its current state:
    profile, credits, inferred plan, connection and sync state at the as-of instant.

    Which account the connection reaches, and whether another tenant already counts it (a
    second connection to the same account, or a subuser of another connected tenant), or the
    connection was deleted (`is_removed`: kept here, left out of the reports and totals):
    int_sendgrid__account_identities; portfolio totals count each account once.
-#}
with

tenant_plans as (

    select * from {{ ref('int_sendgrid__tenant_plans') }}

),

profiles as (

    select * from {{ ref('stg_sendgrid__user_profiles') }}
    where subuser = '' and is_current and not is_deleted

),

connection_health as (

    select * from {{ ref('fct_sendgrid_connection_health') }}

),

account_identities as (

    select * from {{ ref('int_sendgrid__account_identities') }}

),

current_profiles as (

    select distinct on (tenant_id)
        tenant_id,
        company_name,
        country
    from profiles
    order by tenant_id asc, last_seen_at desc

),

final as (

    select
        tenant_plans.tenant_id::text as tenant_id,
        tenant_plans.display_name::text as display_name,
        current_profiles.company_name::text as company_name,
        current_profiles.country::text as country,
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
        connection_health.sync_state::text as sync_state,
        connection_health.has_data::boolean as has_data,
        connection_health.last_success_at::timestamptz as last_successful_sync_at,
        account_identities.sendgrid_user_id::bigint as sendgrid_user_id,
        account_identities.sendgrid_username::text as sendgrid_username,
        account_identities.duplicate_of_tenant_id::text as duplicate_of_tenant_id,
        account_identities.subuser_of_tenant_id::text as subuser_of_tenant_id,
        account_identities.removed_at::timestamptz as removed_at,
        coalesce(account_identities.is_removed, false)::boolean as is_removed,
        coalesce(account_identities.is_counted_in_totals, true)::boolean as is_counted_in_totals
    from tenant_plans
    left join current_profiles on tenant_plans.tenant_id = current_profiles.tenant_id
    left join connection_health on tenant_plans.tenant_id = connection_health.tenant_id
    left join account_identities on tenant_plans.tenant_id = account_identities.tenant_id

)

select * from final
