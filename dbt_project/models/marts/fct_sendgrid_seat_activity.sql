{#-
    One row per tenant and seat at the as-of instant: every current teammate (the owner
    included, flagged as not a seat) and every current subuser, with its last activity and
    the 30/60/90-day activity flags (macro sendgrid_activity_flags). A subuser's activity is
    its last day with emails requested; SendGrid exposes no teammate activity (sign-ins),
    so a teammate's is unknown, and so is a subuser's when its stats (subuser_stats) are not
    readable (int_sendgrid__stream_readability: never counted inactive on an unknown).
    Subusers carry their credit allocation.
-#}
with

seat_versions as (

    select * from {{ ref('int_sendgrid__seat_versions') }}
    where seat_kind in ('teammate', 'subuser')

),

activity as (

    select * from {{ ref('int_sendgrid__sender_activity_daily') }}
    where sender_type = 'subuser' and requests > 0

),

subuser_credits as (

    select * from {{ ref('stg_sendgrid__subuser_credits') }}
    where is_current and not is_deleted

),

stats_readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}
    where stream_name = 'subuser_stats'

),

seats as (

    select
        tenant_id,
        seat_kind,
        seat_name,
        min(valid_from_at) as first_seen_at,
        -- the version valid at the as-of instant (none once deleted)
        max(seat_role) filter (where valid_to_at is null) as seat_role,
        bool_or(is_disabled) filter (where valid_to_at is null) as is_disabled
    from seat_versions
    group by 1, 2, 3

),

last_activity as (

    select
        tenant_id,
        subuser_username,
        max(activity_date) as last_activity_date
    from activity
    where activity_date <= {{ sendgrid_as_of_date() }}
    group by 1, 2

),

current_seats as (

    select
        seats.tenant_id,
        seats.seat_kind,
        seats.seat_name,
        seats.seat_role,
        seats.seat_kind = 'subuser' or seats.seat_role <> 'owner' as counts_as_seat,
        not seats.is_disabled as is_enabled,
        seats.first_seen_at,
        seats.seat_kind = 'subuser' and coalesce(stats_readability.is_readable, false)
            as is_activity_known,
        coalesce(stats_readability.readability, 'not_read') as stats_readability,
        last_activity.last_activity_date,
        subuser_credits.credit_type,
        subuser_credits.credits_total,
        subuser_credits.credits_used,
        subuser_credits.credits_remain
    from seats
    left join last_activity
        on
            seats.seat_kind = 'subuser'
            and seats.tenant_id = last_activity.tenant_id
            and seats.seat_name = last_activity.subuser_username
    left join subuser_credits
        on
            seats.seat_kind = 'subuser'
            and seats.tenant_id = subuser_credits.tenant_id
            and seats.seat_name = subuser_credits.subuser_username
    left join stats_readability on seats.tenant_id = stats_readability.tenant_id
    where seats.seat_role is not null

),

flagged as (

    select
        *,
        {{ sendgrid_as_of_date() }} - last_activity_date as days_since_activity,
        {{ sendgrid_activity_flags(
            'last_activity_date', sendgrid_as_of_date(), 'is_activity_known'
        ) }}
    from current_seats

),

final as (

    select
        md5(tenant_id || '|' || seat_kind || '|' || seat_name)::text as seat_id,
        tenant_id::text as tenant_id,
        seat_kind::text as seat_kind,
        seat_name::text as seat_name,
        seat_role::text as seat_role,
        counts_as_seat::boolean as counts_as_seat,
        is_enabled::boolean as is_enabled,
        first_seen_at::timestamptz as first_seen_at,
        is_activity_known::boolean as is_activity_known,
        (case
            when seat_kind = 'subuser' and is_activity_known then 'last day with emails requested'
            when seat_kind = 'subuser'
                then 'subuser stats not readable (' || replace(stats_readability, '_', ' ') || ')'
            else 'not exposed by the SendGrid API (no teammate sign-ins)'
        end)::text as activity_basis,
        last_activity_date::date as last_activity_date,
        days_since_activity::integer as days_since_activity,
        {%- for days in var('sendgrid_seat_activity_windows') %}
            is_active_{{ days }}d::boolean as is_active_{{ days }}d,
        {%- endfor %}
        credit_type::text as credit_type,
        credits_total::bigint as credits_total,
        credits_used::bigint as credits_used,
        credits_remain::bigint as credits_remain,
        {{ sendgrid_as_of() }} as as_of_at
    from flagged

)

select * from final
