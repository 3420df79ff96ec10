{% call stg_sendgrid_stream('user_username', 'username_version_id') %}
        (record ->> 'user_id')::bigint as user_id,

        ---------- strings
        record ->> 'username' as username
{%- endcall %}
