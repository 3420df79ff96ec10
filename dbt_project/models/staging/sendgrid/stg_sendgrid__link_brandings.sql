with

source as (

    select * from {{ source('sendgrid', 'link_branding') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as link_branding_version_id,
        tenant_id,
        subuser,
        (record ->> 'id')::bigint as link_branding_id,

        ---------- strings
        record ->> 'domain' as domain,  -- noqa: RF04
        record ->> 'subdomain' as subdomain,

        ---------- booleans
        coalesce((record ->> 'valid')::boolean, false) as is_valid,
        coalesce((record ->> 'default')::boolean, false) as is_default,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
