{#- IPs as the IP address management API shows them (GET /v3/send_ips/ips). -#}
{% call stg_sendgrid_stream('send_ips', 'send_ip_version_id') %}
        record ->> 'ip' as ip_address,

        ---------- strings
        record ->> 'region' as region,

        ---------- booleans
        coalesce((record ->> 'is_enabled')::boolean, true) as is_enabled,
        coalesce((record ->> 'is_leased')::boolean, false) as is_leased,
        coalesce((record ->> 'is_auto_warmup')::boolean, false) as is_auto_warmup,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'added_at'") }} as added_at,
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at
{%- endcall %}
