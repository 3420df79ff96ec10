{% call stg_sendgrid_stream('automation_stats', 'automation_stat_id') %}
        record ->> 'id' as automation_id,
        coalesce(record ->> 'step_id', 'all') as step_id,

        ---------- strings
        record ->> 'aggregation' as aggregation,

        ---------- numerics
        coalesce((record -> 'stats' ->> 'requests')::bigint, 0) as requests,
        coalesce((record -> 'stats' ->> 'delivered')::bigint, 0) as delivered
{%- endcall %}
