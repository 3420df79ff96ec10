{#- Dedicated IPs assigned to the account (GET /v3/ips/assigned), one version per row. -#}
with

source as (

    select * from {{ source('sendgrid', 'ips_assigned') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as assigned_ip_version_id,
        tenant_id,
        subuser,
        record ->> 'ip' as ip_address,

        ---------- booleans
        coalesce((record ->> 'warmup')::boolean, false) as is_warming_up,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'start_date'") }} as started_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
