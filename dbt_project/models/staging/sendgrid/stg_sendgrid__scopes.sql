{#- One row per tenant, account and scope granted to the pipeline's credential. -#}
{% call stg_sendgrid_stream('scopes', 'scope_version_id') %}
        coalesce(record ->> 'scope', record_key) as scope_name
{%- endcall %}
