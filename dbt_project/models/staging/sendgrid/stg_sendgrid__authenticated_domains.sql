with

source as (

    select * from {{ source('sendgrid', 'authenticated_domains') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as authenticated_domain_version_id,
        tenant_id,
        subuser,
        (record ->> 'id')::bigint as authenticated_domain_id,

        ---------- strings
        record ->> 'domain' as domain,  -- noqa: RF04
        record ->> 'subdomain' as subdomain,
        record ->> 'username' as owner_username,

        ---------- booleans
        coalesce((record ->> 'valid')::boolean, false) as is_valid,
        coalesce((record ->> 'default')::boolean, false) as is_default,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'last_validation_attempt_at'") }}
            as last_validation_attempt_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
