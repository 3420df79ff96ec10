{#-
    Dashboard: the "Delivery rate" and "Bounces and spam reports" charts: the daily rates of
    each tenant's busiest sender (most emails requested; the parent first on a tie) over the
    90 days ending on the as-of day, as fct_sendgrid_email_activity_daily computed them per
    sender and day (never re-aggregated across senders); `sender_count` = senders active in
    the window. A day read only in part (`is_complete_day` false: after the day the tenant's
    volume is covered through as of this run, int_sendgrid__volume_readability: the parent's
    by /v3/stats, a subuser's by the subuser list too; e.g. the minutes of "today" a run
    loaded before the tenant's next extraction failed) is a row, flagged: a chart leaves it
    out or marks it. The delivery rate can exceed 1 (mail deferred one day is delivered the
    next).
-#}
with

activity as (

    select * from {{ ref('fct_sendgrid_email_activity_daily') }}
    where
        activity_date > {{ sendgrid_as_of_date() }} - 90
        and activity_date <= {{ sendgrid_as_of_date() }}

),

senders as (

    select
        tenant_id,
        sender_type,
        subuser_username,
        max(sender_username) as sender_username,
        sum(requests) as requests,
        count(*) over (partition by tenant_id) as sender_count
    from activity
    group by tenant_id, sender_type, subuser_username

),

volume_readability as (

    select * from {{ ref('int_sendgrid__volume_readability') }}

),

busiest as (

    select distinct on (tenant_id) *
    from senders
    order by tenant_id asc, requests desc, (sender_type = 'parent') desc, subuser_username asc

),

final as (

    select
        activity.activity_day_id::text as activity_day_id,
        activity.tenant_id::text as tenant_id,
        busiest.sender_type::text as sender_type,
        busiest.subuser_username::text as subuser_username,
        busiest.sender_username::text as sender_username,
        busiest.sender_count::integer as sender_count,
        activity.activity_date::date as activity_date,
        coalesce(
            activity.activity_date <= case
                when busiest.sender_type = 'parent'
                    then volume_readability.parent_covered_through_date
                else volume_readability.covered_through_date
            end,
            false
        )::boolean as is_complete_day,
        activity.requests::bigint as requests,
        activity.delivered::bigint as delivered,
        activity.delivery_rate::numeric as delivery_rate,
        activity.bounce_rate::numeric as bounce_rate,
        activity.spam_report_rate::numeric as spam_report_rate,
        {{ sendgrid_as_of() }} as as_of_at
    from activity
    inner join busiest
        on
            activity.tenant_id = busiest.tenant_id
            and activity.sender_type = busiest.sender_type
            and activity.subuser_username = busiest.subuser_username
    left join volume_readability on activity.tenant_id = volume_readability.tenant_id

)

{{ sendgrid_select_with_tenant_flags('final') }}
