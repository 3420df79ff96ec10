with

source as (

    select * from {{ source('sendgrid', 'user_account') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as account_version_id,
        tenant_id,
        subuser,

        ---------- strings
        record ->> 'type' as account_type,

        ---------- numerics
        (record ->> 'reputation')::numeric as reputation,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
