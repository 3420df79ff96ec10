{% call stg_sendgrid_stream('parse_stats', 'parse_stat_id') %}
        ---------- dates
        ({{ sendgrid_to_utc("record ->> 'date'") }} at time zone 'UTC')::date as stat_date,

        ---------- numerics
        coalesce((record -> 'stats' -> 0 -> 'metrics' ->> 'received')::bigint, 0)
            as emails_received
{%- endcall %}
