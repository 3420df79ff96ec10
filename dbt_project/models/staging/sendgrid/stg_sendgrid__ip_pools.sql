{% call stg_sendgrid_stream('ip_pools', 'ip_pool_version_id') %}
        record ->> 'name' as ip_pool_name
{%- endcall %}
