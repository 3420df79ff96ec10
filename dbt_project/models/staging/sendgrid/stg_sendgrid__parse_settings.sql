{% call stg_sendgrid_stream('parse_settings', 'parse_setting_version_id') %}
        record ->> 'hostname' as hostname,

        ---------- booleans
        coalesce((record ->> 'spam_check')::boolean, false) as has_spam_check,
        coalesce((record ->> 'send_raw')::boolean, false) as is_send_raw
{%- endcall %}
