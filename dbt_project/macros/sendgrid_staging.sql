{#- Bookkeeping columns every staging model carries over from the staging contract. -#}
{% macro sendgrid_bookkeeping_columns() -%}
    is_current,
    deleted_at is not null as is_deleted,
    first_seen_at,
    last_seen_at,
    extracted_at,
    deleted_at,
    run_id as extract_run_id
{%- endmacro %}

{#- Surrogate id of one stored version of a record (unique per staging table). -#}
{% macro sendgrid_version_id() -%}
    md5(
        tenant_id || '|' || subuser || '|' || parent_key || '|' || record_key
        || '|' || record_hash
    )
{%- endmacro %}
