{#-
    Shell of a staging model that renames one stream's records: the `source` CTE, the
    `renamed` CTE with the version id, tenant and account first and the bookkeeping columns
    last, and the final select. The model's own columns are the body of the call block:

        {% call stg_sendgrid_stream('alerts', 'alert_version_id') %}
                (record ->> 'id')::bigint as alert_id,
                ...
                {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at
        {%- endcall %}

    Args:
        stream: source table name.
        id_column: name of the surrogate version id column.
        keep_subuser: whether the account the record was read as (`subuser`) is a column.
        where: optional filter on the source rows.
-#}
{% macro stg_sendgrid_stream(stream, id_column, keep_subuser=true, where=none) -%}
with

source as (

    select * from {{ source('sendgrid', stream) }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as {{ id_column }},
        tenant_id,
        {%- if keep_subuser %}
        subuser,
        {%- endif %}
        {{- caller() }},

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source
    {%- if where %}
    where {{ where }}
    {%- endif %}

)

select * from renamed
{% endmacro %}
