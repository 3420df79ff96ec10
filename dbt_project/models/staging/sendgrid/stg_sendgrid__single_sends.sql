with

source as (

    select * from {{ source('sendgrid', 'singlesends') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as single_send_version_id,
        tenant_id,
        subuser,
        record ->> 'id' as single_send_id,

        ---------- strings
        record ->> 'name' as single_send_name,
        record ->> 'status' as status,

        ---------- booleans
        coalesce((record ->> 'is_abtest')::boolean, false) as is_abtest,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'send_at'") }} as send_at,
        {{ sendgrid_to_utc("record ->> 'created_at'") }} as created_at,
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
