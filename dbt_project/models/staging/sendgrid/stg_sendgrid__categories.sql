{% call stg_sendgrid_stream('categories', 'category_version_id') %}
        record ->> 'category' as category_name
{%- endcall %}
