{#-
    One row per tenant, subuser and month (stat_date = first day of the month), from
    /v3/subusers/stats/monthly: SendGrid's own monthly totals, which the daily subuser stats
    must add up to (tests/assert_daily_subuser_stats_match_monthly.sql).
-#}
{{ stg_sendgrid_named_stats(
    'subuser_stats_monthly', 'subuser_stat_month_id', 'subuser_username', keep_subuser=false
) }}
