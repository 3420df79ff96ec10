with

source as (

    select * from {{ source('sendgrid', 'segments') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as segment_version_id,
        tenant_id,
        subuser,
        record ->> 'id' as segment_id,

        ---------- strings
        record ->> 'name' as segment_name,

        ---------- numerics
        coalesce((record ->> 'contacts_count')::bigint, 0) as contact_count,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'created_at'") }} as created_at,
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
