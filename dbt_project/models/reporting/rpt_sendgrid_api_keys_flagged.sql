{#-
    Dashboard: the keys the "API-key risk" card names: per tenant, up to 5 active keys with
    full access and up to 5 deleted keys, most recent first (`list_kind` = full_access or
    recently_deleted). Names and scopes only: key values are never extracted.
    Only while the tenant's /v3/api_keys stream is readable (int_sendgrid__stream_readability,
    the rule of rpt_sendgrid_api_key_summary's counts): the keys an earlier key or a stale
    read listed are not named as the tenant's keys at the as-of (they may be deleted since).
-#}
with

api_keys_readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}
    where stream_name = 'api_keys' and is_readable

),

api_keys as (

    select api_keys.*
    from {{ ref('dim_sendgrid_api_keys') }} as api_keys
    inner join api_keys_readability on api_keys.tenant_id = api_keys_readability.tenant_id
    where api_keys.is_deleted or api_keys.has_full_access

),

ranked as (

    select
        *,
        case when is_deleted then 'recently_deleted' else 'full_access' end as list_kind,
        row_number() over (
            partition by tenant_id, is_deleted
            order by
                coalesce(deleted_at, first_seen_at) desc, api_key_name asc, api_key_id asc
        ) as list_rank
    from api_keys

),

final as (

    select
        tenant_api_key_id::text as tenant_api_key_id,
        tenant_id::text as tenant_id,
        list_kind::text as list_kind,
        list_rank::integer as list_rank,
        subuser_username::text as subuser_username,
        api_key_id::text as api_key_id,
        coalesce(api_key_name, api_key_id)::text as api_key_name,
        scope_count::integer as scope_count,
        has_full_access::boolean as has_full_access,
        is_deleted::boolean as is_deleted,
        first_seen_at::timestamptz as first_seen_at,
        deleted_at::timestamptz as deleted_at,
        (case
            when is_deleted and deleted_at is not null
                then 'deleted ' || {{ sendgrid_format_date("(deleted_at at time zone 'UTC')") }}
            when scope_count is null then 'scopes unknown'
            else scope_count || ' scopes'
        end)::text as key_note
    from ranked
    where list_rank <= 5

)

{{ sendgrid_select_with_tenant_flags('final') }}
