{#-
    One row per tenant and day, from the first day the loader saw the tenant's teammates,
    invitations or subusers to the as-of day. A record version counts on a day when it
    existed at the end of that day, as the read after it saw it (int_sendgrid__seat_versions:
    seen before the next day ended, not yet replaced or deleted; one version per record). Seats are teammates other
    than the owner. Pending invitations are valid while their expiration is after the end of
    the day (on the as-of day: after the as-of instant). Subuser activity in 30/60/90-day
    windows (macro sendgrid_activity_flags): active when it requested at least one email in
    the N days ending that day; inactive = enabled and not active (disabled ones are
    neither).

    Unknown is never zero: a count is null on the days its stream does not cover
    (int_sendgrid__stream_readability.covered_through_date: every day when readable, the days
    before its last successful read when the key lost the scope, none when never read), 0 on
    those it covers with nothing to count.
    Teammate counts need teammates, invitation counts teammates_pending, subuser counts
    subusers, subuser activity subusers and subuser_stats. A tenant with a readable seat
    stream has the as-of day even when it has nothing to count.
-#}
with

seat_versions as (

    select * from {{ ref('int_sendgrid__seat_versions') }}

),

activity as (

    select * from {{ ref('int_sendgrid__sender_activity_daily') }}
    where
        sender_type = 'subuser'
        and requests > 0
        and activity_date <= {{ sendgrid_as_of_date() }}

),

tenant_plans as (

    select * from {{ ref('int_sendgrid__tenant_plans') }}

),

readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}

),

coverage as (

    -- per tenant and seat stream: the last day its figures are known (null: none)
    select
        tenant_id,
        {%- for stream in ['teammates', 'teammates_pending', 'subusers', 'subuser_stats'] %}
            max(covered_through_date) filter (
                where stream_name = '{{ stream }}'
            ) as {{ stream }}_known_through,
        {%- endfor %}
        bool_or(is_readable) filter (
            where stream_name in ('teammates', 'teammates_pending', 'subusers')
        ) as has_readable_seat_stream
    from readability
    group by 1

),

tenant_ranges as (

    select
        tenant_id,
        min(first_date) as first_date
    from (
        select
            tenant_id,
            (min(valid_from_at) at time zone 'UTC')::date as first_date
        from seat_versions
        group by 1
        union all
        select
            tenant_id,
            {{ sendgrid_as_of_date() }} as first_date
        from coverage
        where has_readable_seat_stream
    ) as first_days
    group by 1

),

spine as (

    -- a day's seats are those the read after its end saw: the daily run reads minutes after
    -- midnight, so the versions seen before the next day ends (the as-of day's: its run's).
    -- The days are UTC days whatever the session's TimeZone: the series runs over plain
    -- timestamps (UTC wall time) and only its instants are made timestamptz, at time zone UTC.
    select
        tenant_ranges.tenant_id,
        day_series.day::date as seat_date,
        least(
            (day_series.day + interval '1 day') at time zone 'UTC', {{ sendgrid_as_of() }}
        ) as day_end_at,
        (day_series.day + interval '2 days') at time zone 'UTC' as read_by_at
    from tenant_ranges
    cross join lateral generate_series(
        tenant_ranges.first_date::timestamp,
        {{ sendgrid_as_of_date() }}::timestamp,
        interval '1 day'
    ) as day_series (day)

),

versions_by_day as (

    -- every version valid at the end of each day
    select
        spine.tenant_id,
        spine.seat_date,
        spine.day_end_at,
        seat_versions.seat_kind,
        seat_versions.seat_name,
        seat_versions.seat_role,
        seat_versions.is_disabled,
        seat_versions.expires_at,
        -- one per record and day: an edit reverted to an earlier version overlaps it
        row_number() over (
            partition by
                spine.tenant_id, spine.seat_date, seat_versions.seat_kind, seat_versions.seat_key
            order by seat_versions.valid_from_at desc
        ) as version_rank
    from spine
    inner join seat_versions
        on
            spine.tenant_id = seat_versions.tenant_id
            and spine.read_by_at > seat_versions.valid_from_at
            and (
                seat_versions.valid_to_at is null
                or spine.read_by_at <= seat_versions.valid_to_at
            )

),

seat_days as (

    select * from versions_by_day
    where version_rank = 1

),

first_sends as (

    select
        tenant_id,
        subuser_username,
        min(activity_date) as first_send_date
    from activity
    group by 1, 2

),

subuser_activity_days as (

    -- per subuser and day since its first send: the latest day with a send so far
    select
        first_sends.tenant_id,
        first_sends.subuser_username,
        day_series.day::date as seat_date,
        max(activity.activity_date) over (
            partition by first_sends.tenant_id, first_sends.subuser_username
            order by day_series.day
        ) as last_activity_date
    from first_sends
    cross join
        lateral generate_series(
            first_sends.first_send_date::timestamp,
            {{ sendgrid_as_of_date() }}::timestamp,
            interval '1 day'
        ) as day_series (day)
    left join activity
        on
            first_sends.tenant_id = activity.tenant_id
            and first_sends.subuser_username = activity.subuser_username
            and day_series.day::date = activity.activity_date

),

subuser_days as (

    select
        seat_days.tenant_id,
        seat_days.seat_date,
        not seat_days.is_disabled as is_enabled,
        {{ sendgrid_activity_flags(
            'subuser_activity_days.last_activity_date', 'seat_days.seat_date'
        ) }}
    from seat_days
    left join subuser_activity_days
        on
            seat_days.tenant_id = subuser_activity_days.tenant_id
            and seat_days.seat_name = subuser_activity_days.subuser_username
            and seat_days.seat_date = subuser_activity_days.seat_date
    where seat_days.seat_kind = 'subuser'

),

member_counts as (

    select
        tenant_id,
        seat_date,
        count(*) filter (
            where seat_kind = 'teammate' and seat_role = 'owner'
        ) as owners,
        count(*) filter (
            where seat_kind = 'teammate' and seat_role = 'admin'
        ) as admins,
        count(*) filter (
            where seat_kind = 'teammate' and seat_role not in ('owner', 'admin')
        ) as teammates,
        count(*) filter (
            where seat_kind = 'invite' and expires_at > day_end_at
        ) as valid_invites,
        count(*) filter (
            where seat_kind = 'invite' and (expires_at is null or expires_at <= day_end_at)
        ) as expired_invites
    from seat_days
    group by 1, 2

),

subuser_counts as (

    select
        tenant_id,
        seat_date,
        {{ sendgrid_seat_activity_counts('subusers') }}
    from subuser_days
    group by 1, 2

),

final as (

    select
        md5(spine.tenant_id || '|' || spine.seat_date::text)::text as seat_day_id,
        spine.tenant_id::text as tenant_id,
        spine.seat_date::date as seat_date,
        {%- set teammates_known = 'spine.seat_date <= coverage.teammates_known_through' %}
        {%- set invites_known = 'spine.seat_date <= coverage.teammates_pending_known_through' %}
        {%- set subusers_known = 'spine.seat_date <= coverage.subusers_known_through' %}
        {%- set activity_known = subusers_known
            ~ ' and spine.seat_date <= coverage.subuser_stats_known_through' %}
        {%- set seats = 'coalesce(member_counts.admins, 0)'
            ~ ' + coalesce(member_counts.teammates, 0)' %}
        (case when {{ teammates_known }} then coalesce(member_counts.owners, 0) end)::integer
            as owner_count,
        (case when {{ teammates_known }} then coalesce(member_counts.admins, 0) end)::integer
            as admin_count,
        (case when {{ teammates_known }} then coalesce(member_counts.teammates, 0) end)::integer
            as teammate_count,
        (case when {{ teammates_known }} then {{ seats }} end)::integer as seats_used,
        (case when {{ invites_known }} then coalesce(member_counts.valid_invites, 0) end)::integer
            as pending_invites_valid,
        (case when {{ invites_known }} then coalesce(member_counts.expired_invites, 0) end)
        ::integer as pending_invites_expired,
        tenant_plans.plan_code::text as plan_code,
        tenant_plans.teammate_limit::integer as seat_limit,
        round(
            {{ safe_divide(
                'case when ' ~ teammates_known ~ ' then ' ~ seats ~ ' end',
                'tenant_plans.teammate_limit'
            ) }} * 100,
            2
        ) as seats_used_pct,
        (case when {{ subusers_known }} then coalesce(subuser_counts.subusers_total, 0) end)
        ::integer as subusers_total,
        (case
            when {{ subusers_known }}
                then
                    coalesce(subuser_counts.subusers_total, 0)
                    - coalesce(subuser_counts.subusers_enabled, 0)
        end)::integer as subusers_disabled,
        {%- for days in var('sendgrid_seat_activity_windows') %}
            (case
                when {{ activity_known }}
                    then coalesce(subuser_counts.subusers_active_{{ days }}d, 0)
            end)::integer as subusers_active_{{ days }}d,
            (case
                when {{ activity_known }}
                    then coalesce(subuser_counts.subusers_inactive_{{ days }}d, 0)
            end)::integer as subusers_inactive_{{ days }}d,
        {%- endfor %}
        (spine.seat_date = {{ sendgrid_as_of_date() }})::boolean as is_latest_day
    from spine
    left join member_counts
        on spine.tenant_id = member_counts.tenant_id and spine.seat_date = member_counts.seat_date
    left join subuser_counts
        on
            spine.tenant_id = subuser_counts.tenant_id
            and spine.seat_date = subuser_counts.seat_date
    left join tenant_plans on spine.tenant_id = tenant_plans.tenant_id
    left join coverage on spine.tenant_id = coverage.tenant_id

)

select * from final
