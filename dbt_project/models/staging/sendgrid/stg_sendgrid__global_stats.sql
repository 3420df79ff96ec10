{#-
    One row per tenant, account (parent: subuser = '') and day. The record is one element of
    the /v3/stats array: {"date": "YYYY-MM-DD", "stats": [{"metrics": {...}}]}.
-#}
{% call stg_sendgrid_stream('global_stats', 'global_stat_id') %}
        ---------- dates
        ({{ sendgrid_to_utc("record ->> 'date'") }} at time zone 'UTC')::date as stat_date,

        ---------- numerics
        {{ sendgrid_stat_metrics("(record -> 'stats' -> 0 -> 'metrics')") }}
{%- endcall %}
