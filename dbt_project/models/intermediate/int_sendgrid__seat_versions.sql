{#-
    Every stored version of the parent's teammates, pending invitations and subusers, with
    the interval it was valid: from the extraction that first saw it to the one that saw
    the next version of the same record (its key: username, invitation token, subuser id,
    so a renamed subuser is one seat), or its deletion, whichever came first (a record deleted
    and back later as another version is no seat in between); a version no longer current without
    a later one (an edit reverted to an earlier version) ends when it was last seen. Loader times after the as-of instant are read as the
    as-of instant (the latest staging is the state at the as-of), so a rebuild at an earlier
    as-of never loses the current rows and a day series never runs past the as-of.
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

unioned as (

    select
        tenant_id,
        'teammate' as seat_kind,
        teammate_username as seat_key,
        teammate_username as seat_name,
        user_type as seat_role,
        false as is_disabled,
        null::timestamptz as expires_at,
        is_current,
        first_seen_at,
        last_seen_at,
        deleted_at
    from teammates

    union all

    select
        tenant_id,
        'invite' as seat_kind,
        invitation_token as seat_key,
        invitation_token as seat_name,
        case when is_admin then 'admin' else 'teammate' end as seat_role,
        false as is_disabled,
        expires_at,
        is_current,
        first_seen_at,
        last_seen_at,
        deleted_at
    from pending_teammates

    union all

    select
        tenant_id,
        'subuser' as seat_kind,
        subuser_id::text as seat_key,
        subuser_username as seat_name,
        'subuser' as seat_role,
        is_disabled,
        null::timestamptz as expires_at,
        is_current,
        first_seen_at,
        last_seen_at,
        deleted_at
    from subusers

),

versioned as (

    select
        *,
        -- a retired version keeps the deleted_at of a deletion before its replacement (the
        -- record gone, then back as a new version): it ends at the deletion, not at the return
        -- (least() skips nulls)
        case
            when is_current then deleted_at
            else coalesce(least(deleted_at, lead(first_seen_at) over key_versions), last_seen_at)
        end as replaced_at
    from unioned
    window key_versions as (partition by tenant_id, seat_kind, seat_key order by first_seen_at)

),

final as (

    select
        tenant_id,
        seat_kind,
        seat_key,
        seat_name,
        seat_role,
        is_disabled,
        expires_at,
        {{ sendgrid_at_most_as_of('first_seen_at') }} as valid_from_at,
        {{ sendgrid_at_most_as_of('replaced_at') }} as valid_to_at
    from versioned

)

select * from final
