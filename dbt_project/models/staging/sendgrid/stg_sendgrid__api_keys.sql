{% call stg_sendgrid_stream('api_keys', 'api_key_version_id') %}
        record ->> 'api_key_id' as api_key_id,

        ---------- strings
        record ->> 'name' as api_key_name
{%- endcall %}
