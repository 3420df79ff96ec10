with

source as (

    select * from {{ source('sendgrid', 'parse_settings') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as parse_setting_version_id,
        tenant_id,
        subuser,
        record ->> 'hostname' as hostname,

        ---------- booleans
        coalesce((record ->> 'spam_check')::boolean, false) as has_spam_check,
        coalesce((record ->> 'send_raw')::boolean, false) as is_send_raw,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
