{#-
    One row per tenant and day, from the first day the loader saw the tenant's teammates to
    the latest extraction. A record version counts on a day when it existed at the end of
    that day (seen before midnight, not yet replaced or deleted). Seats are teammates other
    than the owner. Pending invitations are valid while their expiration is after the end
    of the day (or after the latest extraction, for the current day). A subuser is active
    when it requested at least one email in the `sendgrid_activity_window_days` days ending
    that day; every other subuser (disabled ones included) is inactive.
-#}
with

teammates as (

    select * from {{ ref('stg_sendgrid__teammates') }}
    where subuser = ''

),

pending_teammates as (

    select * from {{ ref('stg_sendgrid__pending_teammates') }}
    where subuser = ''

),

subusers as (

    select * from {{ ref('stg_sendgrid__subusers') }}

),

activity as (

    select * from {{ ref('int_sendgrid__sender_activity_daily') }}

),

tenant_plans as (

    select * from {{ ref('int_sendgrid__tenant_plans') }}

),

teammate_versions as (

    select
        tenant_id,
        teammate_username,
        user_type,
        first_seen_at as valid_from_at,
        coalesce(
            lead(first_seen_at) over (
                partition by tenant_id, teammate_username order by first_seen_at
            ),
            deleted_at
        ) as valid_to_at,
        extracted_at
    from teammates

),

pending_versions as (

    select
        tenant_id,
        invitation_token,
        expires_at,
        first_seen_at as valid_from_at,
        coalesce(
            lead(first_seen_at) over (
                partition by tenant_id, invitation_token order by first_seen_at
            ),
            deleted_at
        ) as valid_to_at
    from pending_teammates

),

subuser_versions as (

    select
        tenant_id,
        subuser_username,
        is_disabled,
        first_seen_at as valid_from_at,
        coalesce(
            lead(first_seen_at) over (
                partition by tenant_id, subuser_username order by first_seen_at
            ),
            deleted_at
        ) as valid_to_at
    from subusers

),

tenant_ranges as (

    select
        tenant_id,
        (min(valid_from_at) at time zone 'UTC')::date as first_date,
        max(extracted_at) as as_of_at
    from teammate_versions
    group by 1

),

spine as (

    select
        tenant_ranges.tenant_id,
        day_series.day::date as seat_date,
        least(day_series.day + interval '1 day', tenant_ranges.as_of_at) as day_end_at,
        day_series.day + interval '1 day' as next_midnight_at
    from tenant_ranges
    cross join lateral generate_series(
        tenant_ranges.first_date::timestamp at time zone 'UTC',
        tenant_ranges.as_of_at,
        interval '1 day'
    ) as day_series (day)

),

teammate_days as (

    select
        spine.tenant_id,
        spine.seat_date,
        count(*) filter (where teammate_versions.user_type = 'owner') as owners,
        count(*) filter (where teammate_versions.user_type = 'admin') as admins,
        count(*) filter (
            where teammate_versions.user_type not in ('owner', 'admin')
        ) as teammates
    from spine
    inner join teammate_versions
        on
            spine.tenant_id = teammate_versions.tenant_id
            and spine.next_midnight_at > teammate_versions.valid_from_at
            and (
                teammate_versions.valid_to_at is null
                or spine.next_midnight_at <= teammate_versions.valid_to_at
            )
    group by 1, 2

),

pending_days as (

    select
        spine.tenant_id,
        spine.seat_date,
        count(*) filter (where pending_versions.expires_at > spine.day_end_at) as valid_invites,
        count(*) filter (
            where
            pending_versions.expires_at is null
            or pending_versions.expires_at <= spine.day_end_at
        ) as expired_invites
    from spine
    inner join pending_versions
        on
            spine.tenant_id = pending_versions.tenant_id
            and spine.next_midnight_at > pending_versions.valid_from_at
            and (
                pending_versions.valid_to_at is null
                or spine.next_midnight_at <= pending_versions.valid_to_at
            )
    group by 1, 2

),

subuser_days as (

    select
        spine.tenant_id,
        spine.seat_date,
        subuser_versions.subuser_username,
        subuser_versions.is_disabled,
        exists(
            select 1
            from activity
            where
                activity.tenant_id = spine.tenant_id
                and activity.sender_type = 'subuser'
                and activity.subuser_username = subuser_versions.subuser_username
                and activity.requests > 0
                and activity.activity_date
                > spine.seat_date - {{ var('sendgrid_activity_window_days') }}
                and activity.activity_date <= spine.seat_date
        ) as is_active
    from spine
    inner join subuser_versions
        on
            spine.tenant_id = subuser_versions.tenant_id
            and spine.next_midnight_at > subuser_versions.valid_from_at
            and (
                subuser_versions.valid_to_at is null
                or spine.next_midnight_at <= subuser_versions.valid_to_at
            )

),

subuser_day_counts as (

    select
        tenant_id,
        seat_date,
        count(*) as total,
        count(*) filter (where is_disabled) as disabled,
        count(*) filter (where is_active) as active,
        count(*) filter (where not is_disabled and not is_active) as enabled_inactive
    from subuser_days
    group by 1, 2

),

final as (

    select
        md5(spine.tenant_id || '|' || spine.seat_date::text)::text as seat_day_id,
        spine.tenant_id::text as tenant_id,
        spine.seat_date::date as seat_date,
        coalesce(teammate_days.owners, 0)::integer as owner_count,
        coalesce(teammate_days.admins, 0)::integer as admin_count,
        coalesce(teammate_days.teammates, 0)::integer as teammate_count,
        (coalesce(teammate_days.admins, 0) + coalesce(teammate_days.teammates, 0))::integer
            as seats_used,
        coalesce(pending_days.valid_invites, 0)::integer as pending_invites_valid,
        coalesce(pending_days.expired_invites, 0)::integer as pending_invites_expired,
        tenant_plans.plan_code::text as plan_code,
        tenant_plans.teammate_limit::integer as seat_limit,
        round(
            {{ safe_divide(
                'coalesce(teammate_days.admins, 0) + coalesce(teammate_days.teammates, 0)',
                'tenant_plans.teammate_limit'
            ) }} * 100,
            2
        ) as seats_used_pct,
        coalesce(subuser_day_counts.total, 0)::integer as subusers_total,
        coalesce(subuser_day_counts.disabled, 0)::integer as subusers_disabled,
        coalesce(subuser_day_counts.active, 0)::integer as subusers_active_30d,
        coalesce(subuser_day_counts.enabled_inactive, 0)::integer as subusers_inactive_30d,
        (spine.seat_date = (max(spine.seat_date) over (partition by spine.tenant_id)))::boolean
            as is_latest_day
    from spine
    left join teammate_days
        on spine.tenant_id = teammate_days.tenant_id and spine.seat_date = teammate_days.seat_date
    left join pending_days
        on spine.tenant_id = pending_days.tenant_id and spine.seat_date = pending_days.seat_date
    left join subuser_day_counts
        on
            spine.tenant_id = subuser_day_counts.tenant_id
            and spine.seat_date = subuser_day_counts.seat_date
    left join tenant_plans on spine.tenant_id = tenant_plans.tenant_id

)

select * from final
