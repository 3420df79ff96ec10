with

source as (

    select * from {{ source('sendgrid', 'parse_stats') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as parse_stat_id,
        tenant_id,
        subuser,

        ---------- dates
        ({{ sendgrid_to_utc("record ->> 'date'") }} at time zone 'UTC')::date as stat_date,

        ---------- numerics
        coalesce((record -> 'stats' -> 0 -> 'metrics' ->> 'received')::bigint, 0)
            as emails_received,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
