{% call stg_sendgrid_stream('contacts_count', 'contact_count_version_id') %}
        ---------- numerics
        coalesce((record ->> 'contact_count')::bigint, 0) as contact_count,
        (record ->> 'billable_count')::bigint as billable_count
{%- endcall %}
