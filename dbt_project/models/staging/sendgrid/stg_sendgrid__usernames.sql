with

source as (

    select * from {{ source('sendgrid', 'user_username') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as username_version_id,
        tenant_id,
        subuser,
        (record ->> 'user_id')::bigint as user_id,

        ---------- strings
        record ->> 'username' as username,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
