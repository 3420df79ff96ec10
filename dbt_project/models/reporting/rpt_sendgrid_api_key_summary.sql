{#-
    Dashboard: the "API-key risk" card's counts, one row per tenant (zeros for a tenant
    without keys): keys seen in total, active, active with full access, active with unknown
    scopes (GET /v3/api_keys/{id} not read for them), deleted. Null (unknown, never 0) when the
    tenant's /v3/api_keys stream is not readable (int_sendgrid__stream_readability: e.g. the
    key lacks api_keys.read); full access is also null while any active key's scopes are
    unknown.
-#}
with

tenants as (

    select * from {{ ref('dim_sendgrid_tenants') }}

),

api_keys as (

    select * from {{ ref('dim_sendgrid_api_keys') }}

),

api_keys_readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}
    where stream_name = 'api_keys'

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
        {%- for column in ['total_keys', 'active_keys', 'unknown_scope_keys', 'deleted_keys'] %}
            (case
                when api_keys_readability.is_readable then coalesce(counts.{{ column }}, 0)
            end)::integer as {{ column }},
        {%- endfor %}
        -- a count with members of unknown scope is itself unknown
        (case
            when
                api_keys_readability.is_readable
                and coalesce(counts.unknown_scope_keys, 0) = 0
                then coalesce(counts.full_access_keys, 0)
        end)::integer as full_access_keys,
        {{ sendgrid_as_of() }} as as_of_at
    from tenants
    left join counts on tenants.tenant_id = counts.tenant_id
    left join api_keys_readability on tenants.tenant_id = api_keys_readability.tenant_id

)

{{ sendgrid_select_with_tenant_flags('final') }}
