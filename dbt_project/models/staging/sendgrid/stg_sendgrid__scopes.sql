{#- One row per tenant, account and scope granted to the pipeline's credential. -#}
with

source as (

    select * from {{ source('sendgrid', 'scopes') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as scope_version_id,
        tenant_id,
        subuser,
        coalesce(record ->> 'scope', record_key) as scope_name,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
