{#-
    One row per tenant, account and API key ever seen (a security view): the latest version
    gives the name, the key's current scopes (read per key) say whether it has full access; first
    seen is the earliest version, deleted at comes from the current version when the key
    disappeared from a full snapshot. Key values are never extracted. Scopes not read (the
    key appeared after the scopes were read, or that stream failed) are unknown (null). The
    loader's times after the as-of instant read as the as-of: a key the run after it found
    deleted is "deleted" by the as-of, never on a later date.
-#}
with

api_keys as (

    select * from {{ ref('stg_sendgrid__api_keys') }}

),

key_scopes as (

    select * from {{ ref('stg_sendgrid__api_key_scopes') }}
    where is_current and not is_deleted

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
        md5(
            ranked.tenant_id || '|' || ranked.subuser || '|' || ranked.api_key_id
        )::text as tenant_api_key_id,
        ranked.tenant_id::text as tenant_id,
        ranked.subuser::text as subuser_username,
        ranked.api_key_id::text as api_key_id,
        ranked.api_key_name::text as api_key_name,
        key_scopes.scope_count::integer as scope_count,
        key_scopes.has_full_access::boolean as has_full_access,
        ranked.is_deleted::boolean as is_deleted,
        -- loader times after the as-of instant read as the as-of (a run extracts after it)
        {{ sendgrid_at_most_as_of('ranked.key_first_seen_at') }}::timestamptz as first_seen_at,
        {{ sendgrid_at_most_as_of('ranked.last_seen_at') }}::timestamptz as last_seen_at,
        {{ sendgrid_at_most_as_of('ranked.deleted_at') }}::timestamptz as deleted_at
    from ranked
    left join key_scopes
        on
            ranked.tenant_id = key_scopes.tenant_id
            and ranked.subuser = key_scopes.subuser
            and ranked.api_key_id = key_scopes.api_key_id
    where ranked.version_rank = 1

)

select * from final
