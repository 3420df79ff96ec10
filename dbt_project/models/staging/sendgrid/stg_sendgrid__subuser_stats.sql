{#- One row per tenant, subuser and day, from the parent-level /v3/subusers/stats. -#}
{{ stg_sendgrid_named_stats(
    'subuser_stats', 'subuser_stat_id', 'subuser_username', keep_subuser=false
) }}
