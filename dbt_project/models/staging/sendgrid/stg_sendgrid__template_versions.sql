{#- One row per stored version of a template version (parent_key = the template id). -#}
{% call stg_sendgrid_stream('template_versions', 'template_version_record_id') %}
        coalesce(record ->> 'template_id', parent_key) as template_id,
        record ->> 'id' as version_id,

        ---------- strings
        record ->> 'name' as version_name,
        record ->> 'editor' as editor,

        ---------- booleans
        coalesce((record ->> 'active')::integer = 1, false) as is_active,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at
{%- endcall %}
