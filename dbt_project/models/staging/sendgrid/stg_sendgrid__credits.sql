{% call stg_sendgrid_stream('user_credits', 'credits_version_id') %}
        ---------- strings
        record ->> 'reset_frequency' as reset_frequency,

        ---------- numerics
        (record ->> 'total')::bigint as credits_total,
        (record ->> 'used')::bigint as credits_used,
        (record ->> 'remain')::bigint as credits_remain,
        coalesce((record ->> 'overage')::bigint, 0) as credits_overage,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'last_reset'") }} as last_reset_at,
        {{ sendgrid_to_utc("record ->> 'next_reset'") }} as next_reset_at
{%- endcall %}
