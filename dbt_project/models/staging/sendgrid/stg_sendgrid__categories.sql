with

source as (

    select * from {{ source('sendgrid', 'categories') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as category_version_id,
        tenant_id,
        subuser,
        record ->> 'category' as category_name,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
