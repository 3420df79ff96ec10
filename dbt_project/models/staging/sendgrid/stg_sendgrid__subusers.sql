with

source as (

    select * from {{ source('sendgrid', 'subusers') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as subuser_version_id,
        tenant_id,
        (record ->> 'id')::bigint as subuser_id,

        ---------- strings
        record ->> 'username' as subuser_username,
        record ->> 'email' as email,
        record ->> 'region' as region,

        ---------- booleans
        coalesce((record ->> 'disabled')::boolean, false) as is_disabled,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
