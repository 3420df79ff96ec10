with

source as (

    select * from {{ source('sendgrid', 'automation_stats') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as automation_stat_id,
        tenant_id,
        subuser,
        record ->> 'id' as automation_id,
        coalesce(record ->> 'step_id', 'all') as step_id,

        ---------- strings
        record ->> 'aggregation' as aggregation,

        ---------- numerics
        coalesce((record -> 'stats' ->> 'requests')::bigint, 0) as requests,
        coalesce((record -> 'stats' ->> 'delivered')::bigint, 0) as delivered,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
