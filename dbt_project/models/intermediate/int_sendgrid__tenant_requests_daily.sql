{#-
    Emails requested per tenant and day up to the as-of day: the parent, its subusers, and
    both together (with the delivered, bounced and spam-reported counts of all senders).
-#}
with

activity as (

    select * from {{ ref('int_sendgrid__sender_activity_daily') }}

),

daily as (

    select
        tenant_id,
        activity_date,
        coalesce(sum(requests) filter (where sender_type = 'parent'), 0)::bigint
            as parent_requests,
        coalesce(sum(requests) filter (where sender_type = 'subuser'), 0)::bigint
            as subuser_requests,
        sum(requests)::bigint as requests,
        sum(delivered)::bigint as delivered,
        sum(bounces)::bigint as bounces,
        sum(spam_reports)::bigint as spam_reports
    from activity
    where activity_date <= {{ sendgrid_as_of_date() }}
    group by 1, 2

)

select * from daily
