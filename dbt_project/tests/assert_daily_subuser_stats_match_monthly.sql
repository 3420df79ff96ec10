{{ config(severity='warn') }}

{#-
    Completeness of the daily subuser stats: for every complete month before the as-of month
    that the daily stats cover day by day, the emails requested add up to SendGrid's own
    monthly figure (/v3/subusers/stats/monthly). A row here is a month whose daily stats
    miss or double-count days.
-#}
with

monthly as (

    select * from {{ ref('stg_sendgrid__subuser_stats_monthly') }}

),

daily as (

    select * from {{ ref('stg_sendgrid__subuser_stats') }}

),

daily_months as (

    select
        tenant_id,
        subuser_username,
        date_trunc('month', stat_date)::date as stat_month,
        sum(requests) as requests,
        count(distinct stat_date) as days_covered
    from daily
    group by 1, 2, 3

),

compared as (

    select
        monthly.tenant_id,
        monthly.subuser_username,
        monthly.stat_date as stat_month,
        monthly.requests as monthly_requests,
        daily_months.requests as daily_requests
    from monthly
    inner join daily_months
        on
            monthly.tenant_id = daily_months.tenant_id
            and monthly.subuser_username = daily_months.subuser_username
            and monthly.stat_date = daily_months.stat_month
    where
        monthly.stat_date < date_trunc('month', {{ sendgrid_as_of_date() }})::date
        and daily_months.days_covered
        = ((monthly.stat_date + interval '1 month')::date - monthly.stat_date)

)

select * from compared
where monthly_requests <> daily_requests
