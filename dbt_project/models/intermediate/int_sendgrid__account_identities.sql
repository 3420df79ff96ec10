{#-
    One row per tenant: the SendGrid account its connection reaches (user id and username of
    GET /v3/user/username; null when that stream was not read) and whether another tenant
    already counts that account's figures:
      - `duplicate_of_tenant_id`: another connection reaches the same account (same user id
        and username) and was connected first (the loader's registry, then the id);
      - `subuser_of_tenant_id`: the account is a subuser that another connected tenant lists
        among its subusers (same id and username; a parent connected twice is named by its
        first connection). The parent's volume counts its subusers' sends and its plan and
        credits are the ones the subuser draws on.
    A tenant whose connection was deleted (the registry's `removed_at`, at or before the
    as-of instant) is `is_removed`: it counts nowhere and takes part in neither match, so
    deleting the first of two connections makes the other one count.
    `is_counted_in_totals` is false for all three: portfolio totals, alerts and plan
    recommendations count each account once, where it belongs.
-#}
with

tenants as (

    select
        *,
        coalesce(removed_at <= {{ sendgrid_as_of() }}, false) as is_removed
    from {{ ref('stg_sendgrid__tenants') }}

),

usernames as (

    select * from {{ ref('stg_sendgrid__usernames') }}
    where subuser = '' and is_current and not is_deleted and user_id is not null

),

subusers as (

    select subuser_list.*
    from {{ ref('stg_sendgrid__subusers') }} as subuser_list
    inner join tenants on subuser_list.tenant_id = tenants.tenant_id
    where subuser_list.is_current and not subuser_list.is_deleted and not tenants.is_removed

),

identities as (

    select distinct on (usernames.tenant_id)
        usernames.tenant_id,
        usernames.user_id,
        usernames.username,
        tenants.first_seen_at,
        coalesce(tenants.is_removed, false) as is_removed
    from usernames
    left join tenants on usernames.tenant_id = tenants.tenant_id
    order by usernames.tenant_id asc, usernames.last_seen_at desc

),

first_connections as (

    -- removed connections match among themselves only: they never stand for an account
    select
        tenant_id,
        user_id,
        username,
        is_removed,
        first_value(tenant_id) over (
            partition by is_removed, user_id, username
            order by first_seen_at asc nulls last, tenant_id asc
        ) as first_tenant_id
    from identities

),

parents as (

    select distinct on (first_connections.tenant_id)
        first_connections.tenant_id,
        coalesce(parent.first_tenant_id, subusers.tenant_id) as subuser_of_tenant_id
    from first_connections
    inner join subusers
        on
            first_connections.user_id = subusers.subuser_id
            and first_connections.username = subusers.subuser_username
            and first_connections.tenant_id <> subusers.tenant_id
    left join first_connections as parent on subusers.tenant_id = parent.tenant_id
    where not first_connections.is_removed
    order by first_connections.tenant_id asc, subuser_of_tenant_id asc

),

final as (

    select
        tenants.tenant_id::text as tenant_id,
        tenants.removed_at::timestamptz as removed_at,
        tenants.is_removed::boolean as is_removed,
        first_connections.user_id::bigint as sendgrid_user_id,
        first_connections.username::text as sendgrid_username,
        (case
            when not tenants.is_removed
                then nullif(first_connections.first_tenant_id, tenants.tenant_id)
        end)::text as duplicate_of_tenant_id,
        parents.subuser_of_tenant_id::text as subuser_of_tenant_id,
        (
            not tenants.is_removed
            and coalesce(first_connections.first_tenant_id, tenants.tenant_id) = tenants.tenant_id
            and parents.subuser_of_tenant_id is null
        )::boolean as is_counted_in_totals
    from tenants
    left join first_connections on tenants.tenant_id = first_connections.tenant_id
    left join parents on tenants.tenant_id = parents.tenant_id

)

select * from final
