{#-
    Body of the staging models of the per-name stats streams (category_stats, subuser_stats,
    subuser_stats_monthly): one row per tenant, account, name and day. The loader keys the
    records `date|name`; a record is either the API element {"date", "stats": [...]} holding
    that name, or the flattened stat {"date", "type", "name", "metrics"}.

    Args:
        stream: source table name.
        id_column: name of the surrogate version id column.
        name_column: name of the column holding the stat's `name`.
        keep_subuser: whether the account the record was read as (`subuser`) is a column.
-#}
{% macro stg_sendgrid_named_stats(stream, id_column, name_column, keep_subuser=true) %}
with

source as (

    select * from {{ source('sendgrid', stream) }}

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
        {{ sendgrid_version_id() }} as {{ id_column }},
        tenant_id,
        {%- if keep_subuser %}
            subuser,
        {%- endif %}
        stat ->> 'name' as {{ name_column }},

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
{% endmacro %}
