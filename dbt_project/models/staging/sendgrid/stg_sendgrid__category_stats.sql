{#- One row per tenant, account, category and day (record key `date|category`). -#}
with

source as (

    select * from {{ source('sendgrid', 'category_stats') }}

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
        {{ sendgrid_version_id() }} as category_stat_id,
        tenant_id,
        subuser,
        stat ->> 'name' as category_name,

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
