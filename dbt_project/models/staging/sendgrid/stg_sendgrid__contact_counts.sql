with

source as (

    select * from {{ source('sendgrid', 'contacts_count') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as contact_count_version_id,
        tenant_id,
        subuser,

        ---------- numerics
        coalesce((record ->> 'contact_count')::bigint, 0) as contact_count,
        (record ->> 'billable_count')::bigint as billable_count,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
