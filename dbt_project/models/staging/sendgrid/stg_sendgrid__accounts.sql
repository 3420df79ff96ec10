{% call stg_sendgrid_stream('user_account', 'account_version_id') %}
        ---------- strings
        record ->> 'type' as account_type,

        ---------- numerics
        (record ->> 'reputation')::numeric as reputation
{%- endcall %}
