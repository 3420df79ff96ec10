{#-
    One row per tenant and subuser ever listed by GET /v3/subusers (the parent's inventory):
    the latest version gives the username, region and whether the subuser is disabled; first
    seen is the earliest version, deleted at comes from the current version when the subuser
    disappeared from a full snapshot. `connected_as_tenant_id` names a current connection whose
    own credential reaches the subuser's account (same user id and username): its sends and
    plan are counted here, under the parent (`dim_sendgrid_tenants.subuser_of_tenant_id`).
-#}
with

subusers as (

    select * from {{ ref('stg_sendgrid__subusers') }}

),

identities as (

    select * from {{ ref('int_sendgrid__account_identities') }}
    where not is_removed and sendgrid_user_id is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by tenant_id, subuser_id
            order by is_current desc, last_seen_at desc
        ) as version_rank,
        min(first_seen_at) over (partition by tenant_id, subuser_id) as subuser_first_seen_at
    from subusers

),

connected as (

    select
        ranked.tenant_id,
        ranked.subuser_id,
        min(identities.tenant_id) as connected_as_tenant_id
    from ranked
    inner join identities
        on
            ranked.subuser_id = identities.sendgrid_user_id
            and ranked.subuser_username = identities.sendgrid_username
            and ranked.tenant_id <> identities.tenant_id
    where ranked.version_rank = 1
    group by ranked.tenant_id, ranked.subuser_id

),

final as (

    select
        md5(ranked.tenant_id || '|' || ranked.subuser_id::text)::text as tenant_subuser_id,
        ranked.tenant_id::text as tenant_id,
        ranked.subuser_id::bigint as subuser_id,
        ranked.subuser_username::text as subuser_username,
        ranked.region::text as region,
        ranked.is_disabled::boolean as is_disabled,
        connected.connected_as_tenant_id::text as connected_as_tenant_id,
        ranked.is_deleted::boolean as is_deleted,
        ranked.subuser_first_seen_at::timestamptz as first_seen_at,
        ranked.last_seen_at::timestamptz as last_seen_at,
        ranked.deleted_at::timestamptz as deleted_at
    from ranked
    left join connected
        on
            ranked.tenant_id = connected.tenant_id
            and ranked.subuser_id = connected.subuser_id
    where ranked.version_rank = 1

)

select * from final
