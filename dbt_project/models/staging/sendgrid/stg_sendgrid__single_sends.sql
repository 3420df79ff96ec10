{% call stg_sendgrid_stream('singlesends', 'single_send_version_id') %}
        record ->> 'id' as single_send_id,

        ---------- strings
        record ->> 'name' as single_send_name,
        record ->> 'status' as status,

        ---------- booleans
        coalesce((record ->> 'is_abtest')::boolean, false) as is_abtest,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'send_at'") }} as send_at,
        {{ sendgrid_to_utc("record ->> 'created_at'") }} as created_at,
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at
{%- endcall %}
