{% call stg_sendgrid_stream('ips', 'ip_version_id') %}
        record ->> 'ip' as ip_address,

        ---------- strings
        record ->> 'rdns' as reverse_dns,

        ---------- numerics
        case
            when jsonb_typeof(record -> 'pools') = 'array'
                then jsonb_array_length(record -> 'pools')
            else 0
        end as pool_count,
        case
            when jsonb_typeof(record -> 'subusers') = 'array'
                then jsonb_array_length(record -> 'subusers')
            else 0
        end as subuser_count,

        ---------- booleans
        coalesce((record ->> 'warmup')::boolean, false) as is_warming_up,
        coalesce((record ->> 'whitelabeled')::boolean, false) as is_whitelabeled,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'start_date'") }} as warmup_started_at,
        {{ sendgrid_to_utc("record ->> 'assigned_at'") }} as assigned_at
{%- endcall %}
