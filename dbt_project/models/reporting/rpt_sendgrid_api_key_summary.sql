{#-
    Dashboard: the "API-key risk" card's counts, one row per tenant (zeros for a tenant
    without keys): keys seen in total, active, active with full access, active with unknown
    scopes, deleted.
-#}
with

tenants as (

    select * from {{ ref('dim_sendgrid_tenants') }}

),

api_keys as (

    select * from {{ ref('dim_sendgrid_api_keys') }}

),

counts as (

    select
        tenant_id,
        count(*) as total_keys,
        count(*) filter (where not is_deleted) as active_keys,
        count(*) filter (where not is_deleted and has_full_access) as full_access_keys,
        count(*) filter (where not is_deleted and has_full_access is null) as unknown_scope_keys,
        count(*) filter (where is_deleted) as deleted_keys
    from api_keys
    group by 1

),

final as (

    select
        tenants.tenant_id::text as tenant_id,
        coalesce(counts.total_keys, 0)::integer as total_keys,
        coalesce(counts.active_keys, 0)::integer as active_keys,
        coalesce(counts.full_access_keys, 0)::integer as full_access_keys,
        coalesce(counts.unknown_scope_keys, 0)::integer as unknown_scope_keys,
        coalesce(counts.deleted_keys, 0)::integer as deleted_keys,
        {{ sendgrid_as_of() }} as as_of_at
    from tenants
    left join counts on tenants.tenant_id = counts.tenant_id

)

select * from final
