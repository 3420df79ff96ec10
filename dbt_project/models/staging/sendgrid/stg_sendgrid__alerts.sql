with

source as (

    select * from {{ source('sendgrid', 'alerts') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as alert_version_id,
        tenant_id,
        subuser,
        (record ->> 'id')::bigint as alert_id,

        ---------- strings
        record ->> 'type' as alert_type,
        record ->> 'frequency' as frequency,

        ---------- numerics
        (record ->> 'percentage')::integer as usage_percentage,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'created_at'") }} as created_at,
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
