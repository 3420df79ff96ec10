{#- Emails requested per tenant (parent + subusers) and calendar month. -#}
with

daily as (

    select * from {{ ref('int_sendgrid__tenant_requests_daily') }}

),

monthly as (

    select
        tenant_id,
        date_trunc('month', activity_date)::date as activity_month,
        sum(parent_requests)::bigint as parent_requests,
        sum(subuser_requests)::bigint as subuser_requests,
        sum(requests)::bigint as requests,
        sum(delivered)::bigint as delivered,
        count(*)::integer as days_with_data,
        max(requests)::bigint as peak_daily_requests,
        max(activity_date) as last_activity_date
    from daily
    group by 1, 2

)

select * from monthly
