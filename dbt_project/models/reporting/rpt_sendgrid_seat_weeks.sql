{#-
    Dashboard: the "Seats by role vs limit" chart and the seat facts: fct_sendgrid_seat_utilization
    sampled weekly (every 7th day back from the as-of day, 13 weeks), with `is_latest_day`
    on the as-of day.
-#}
with

seat_utilization as (

    select * from {{ ref('fct_sendgrid_seat_utilization') }}
    where
        ({{ sendgrid_as_of_date() }} - seat_date) % 7 = 0
        and seat_date > {{ sendgrid_as_of_date() }} - 7 * 13

),

final as (

    select
        seat_day_id::text as seat_day_id,
        tenant_id::text as tenant_id,
        seat_date::date as seat_date,
        owner_count::integer as owner_count,
        admin_count::integer as admin_count,
        teammate_count::integer as teammate_count,
        seats_used::integer as seats_used,
        pending_invites_valid::integer as pending_invites_valid,
        pending_invites_expired::integer as pending_invites_expired,
        plan_code::text as plan_code,
        seat_limit::integer as seat_limit,
        seats_used_pct::numeric as seats_used_pct,
        subusers_total::integer as subusers_total,
        subusers_disabled::integer as subusers_disabled,
        {%- for days in var('sendgrid_seat_activity_windows') %}
            subusers_active_{{ days }}d::integer as subusers_active_{{ days }}d,
            subusers_inactive_{{ days }}d::integer as subusers_inactive_{{ days }}d,
        {%- endfor %}
        is_latest_day::boolean as is_latest_day
    from seat_utilization

)

{{ sendgrid_select_with_tenant_flags('final') }}
