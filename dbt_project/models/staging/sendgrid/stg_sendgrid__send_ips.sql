{#- IPs as the IP address management API shows them (GET /v3/send_ips/ips). -#}
with

source as (

    select * from {{ source('sendgrid', 'send_ips') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as send_ip_version_id,
        tenant_id,
        subuser,
        record ->> 'ip' as ip_address,

        ---------- strings
        record ->> 'region' as region,

        ---------- booleans
        coalesce((record ->> 'is_enabled')::boolean, true) as is_enabled,
        coalesce((record ->> 'is_leased')::boolean, false) as is_leased,
        coalesce((record ->> 'is_auto_warmup')::boolean, false) as is_auto_warmup,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'added_at'") }} as added_at,
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
