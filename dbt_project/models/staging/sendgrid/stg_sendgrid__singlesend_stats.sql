{#- Totals per single send, A/B variation and phase (GET /v3/marketing/stats/singlesends). -#}
{% call stg_sendgrid_stream('singlesend_stats', 'singlesend_stat_id', keep_subuser=false) %}
        coalesce(record ->> 'id', parent_key) as single_send_id,

        ---------- strings
        coalesce(record ->> 'ab_variation', '') as ab_variation,
        coalesce(record ->> 'ab_phase', 'all') as ab_phase,
        record ->> 'aggregation' as aggregation,

        ---------- numerics
        coalesce((record -> 'stats' ->> 'requests')::bigint, 0) as requests,
        coalesce((record -> 'stats' ->> 'delivered')::bigint, 0) as delivered,
        coalesce((record -> 'stats' ->> 'unique_opens')::bigint, 0) as unique_opens,
        coalesce((record -> 'stats' ->> 'unique_clicks')::bigint, 0) as unique_clicks
{%- endcall %}
