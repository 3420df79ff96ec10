{#-
    One row per tenant, account and API key ever seen (a security view): the latest version
    gives the name and scopes; first seen is the earliest version, deleted at comes from the
    current version when the key disappeared from a full snapshot. Key values are never
    extracted.
-#}
with

api_keys as (

    select * from {{ ref('stg_sendgrid__api_keys') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by tenant_id, subuser, api_key_id
            order by is_current desc, last_seen_at desc
        ) as version_rank,
        min(first_seen_at) over (
            partition by tenant_id, subuser, api_key_id
        ) as key_first_seen_at
    from api_keys

),

final as (

    select
        md5(tenant_id || '|' || subuser || '|' || api_key_id)::text as tenant_api_key_id,
        tenant_id::text as tenant_id,
        subuser::text as subuser_username,
        api_key_id::text as api_key_id,
        api_key_name::text as api_key_name,
        scope_count::integer as scope_count,
        has_full_access::boolean as has_full_access,
        is_deleted::boolean as is_deleted,
        key_first_seen_at::timestamptz as first_seen_at,
        last_seen_at::timestamptz as last_seen_at,
        deleted_at::timestamptz as deleted_at
    from ranked
    where version_rank = 1

)

select * from final
