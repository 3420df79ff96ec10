{#- Dedicated IPs assigned to the account (GET /v3/ips/assigned), one version per row. -#}
{% call stg_sendgrid_stream('ips_assigned', 'assigned_ip_version_id') %}
        record ->> 'ip' as ip_address,

        ---------- booleans
        coalesce((record ->> 'warmup')::boolean, false) as is_warming_up,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'start_date'") }} as started_at
{%- endcall %}
