with

source as (

    select * from {{ source('sendgrid', 'marketing_lists') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as marketing_list_version_id,
        tenant_id,
        subuser,
        record ->> 'id' as marketing_list_id,

        ---------- strings
        record ->> 'name' as marketing_list_name,

        ---------- numerics
        coalesce((record ->> 'contact_count')::bigint, 0) as contact_count,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
