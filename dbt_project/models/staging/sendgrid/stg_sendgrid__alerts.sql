{% call stg_sendgrid_stream('alerts', 'alert_version_id') %}
        (record ->> 'id')::bigint as alert_id,

        ---------- strings
        record ->> 'type' as alert_type,
        record ->> 'frequency' as frequency,

        ---------- numerics
        (record ->> 'percentage')::integer as usage_percentage,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'created_at'") }} as created_at,
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at
{%- endcall %}
