{#-
    One row per tenant, account (parent: subuser = '') and day. The record is one element of
    the /v3/stats array: {"date": "YYYY-MM-DD", "stats": [{"metrics": {...}}]}.
-#}
with

source as (

    select * from {{ source('sendgrid', 'global_stats') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as global_stat_id,
        tenant_id,
        subuser,

        ---------- dates
        ({{ sendgrid_to_utc("record ->> 'date'") }} at time zone 'UTC')::date as stat_date,

        ---------- numerics
        {{ sendgrid_stat_metrics("(record -> 'stats' -> 0 -> 'metrics')") }},

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
