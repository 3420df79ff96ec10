{#-
    One row per tenant, subuser and day from the parent-level /v3/subusers/stats. The loader
    keys records `date|name`; the record is either the element {"date", "stats": [...]}
    holding that subuser, or the flattened stat {"date", "type", "name", "metrics"}.
-#}
with

source as (

    select * from {{ source('sendgrid', 'subuser_stats') }}

),

exploded as (

    select
        source.*,
        stat.value as stat
    from source
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof(source.record -> 'stats') = 'array'
                then source.record -> 'stats'
            else jsonb_build_array(source.record)
        end
    ) as stat (value)

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as subuser_stat_id,
        tenant_id,
        stat ->> 'name' as subuser_username,

        ---------- dates
        ({{ sendgrid_to_utc("record ->> 'date'") }} at time zone 'UTC')::date as stat_date,

        ---------- numerics
        {{ sendgrid_stat_metrics("(stat -> 'metrics')") }},

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from exploded
    where
        stat ->> 'name' is not null
        and (
            position('|' in record_key) = 0
            or split_part(record_key, '|', 2) = stat ->> 'name'
        )

)

select * from renamed
