{#- Emails requested per tenant (parent + subusers) and calendar month. -#}
with

activity as (

    select * from {{ ref('int_sendgrid__sender_activity_daily') }}

),

monthly as (

    select
        tenant_id,
        date_trunc('month', activity_date)::date as activity_month,
        sum(requests)::bigint as requests,
        sum(delivered)::bigint as delivered,
        count(distinct activity_date)::integer as days_with_data,
        max(activity_date) as last_activity_date
    from activity
    group by 1, 2

)

select * from monthly
