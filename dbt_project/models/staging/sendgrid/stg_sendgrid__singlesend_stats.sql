{#- Totals per single send, A/B variation and phase (GET /v3/marketing/stats/singlesends). -#}
with

source as (

    select * from {{ source('sendgrid', 'singlesend_stats') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as singlesend_stat_id,
        tenant_id,
        coalesce(record ->> 'id', parent_key) as single_send_id,

        ---------- strings
        coalesce(record ->> 'ab_variation', '') as ab_variation,
        coalesce(record ->> 'ab_phase', 'all') as ab_phase,
        record ->> 'aggregation' as aggregation,

        ---------- numerics
        coalesce((record -> 'stats' ->> 'requests')::bigint, 0) as requests,
        coalesce((record -> 'stats' ->> 'delivered')::bigint, 0) as delivered,
        coalesce((record -> 'stats' ->> 'unique_opens')::bigint, 0) as unique_opens,
        coalesce((record -> 'stats' ->> 'unique_clicks')::bigint, 0) as unique_clicks,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
