with

source as (

    select * from {{ source('sendgrid', 'ip_pools') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as ip_pool_version_id,
        tenant_id,
        subuser,
        record ->> 'name' as ip_pool_name,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
