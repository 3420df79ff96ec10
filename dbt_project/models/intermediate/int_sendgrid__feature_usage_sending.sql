{#-
    Feature evidence of the sending infrastructure, per tenant: dedicated IPs (the union of
    /v3/ips, /v3/ips/assigned and the enabled IPs of /v3/send_ips), IP pools, domain
    authentication and link branding (validated domains only). Current records only.
-#}
with

ips as (

    select * from {{ ref('stg_sendgrid__ips') }}
    where is_current and not is_deleted and subuser = ''

),

ips_assigned as (

    select * from {{ ref('stg_sendgrid__ips_assigned') }}
    where is_current and not is_deleted and subuser = ''

),

send_ips as (

    select * from {{ ref('stg_sendgrid__send_ips') }}
    where is_current and not is_deleted and subuser = '' and is_enabled

),

ip_pools as (

    select * from {{ ref('stg_sendgrid__ip_pools') }}
    where is_current and not is_deleted and subuser = ''

),

domains as (

    select * from {{ ref('stg_sendgrid__authenticated_domains') }}
    where is_current and not is_deleted

),

link_brandings as (

    select * from {{ ref('stg_sendgrid__link_brandings') }}
    where is_current and not is_deleted

),

ip_evidence as (

    select
        tenant_id,
        ip_address,
        greatest(assigned_at, warmup_started_at) as active_since_at
    from ips

    union all

    select
        tenant_id,
        ip_address,
        started_at as active_since_at
    from ips_assigned

    union all

    select
        tenant_id,
        ip_address,
        added_at as active_since_at
    from send_ips

),

dedicated_ips as (

    select
        tenant_id,
        'dedicated_ips' as feature_code,
        count(distinct ip_address) as usage_count,
        max(active_since_at) filter (
            where active_since_at <= {{ sendgrid_as_of() }}
        ) as last_activity_at,
        null::bigint as usage_limit
    from ip_evidence
    group by 1, 2

),

pools as (

    select
        tenant_id,
        'ip_pools' as feature_code,
        count(*) as usage_count,
        null::timestamptz as last_activity_at,
        null::bigint as usage_limit
    from ip_pools
    group by 1, 2

),

domain_authentication as (

    select
        tenant_id,
        'domain_authentication' as feature_code,
        count(*) filter (where is_valid) as usage_count,
        max(last_validation_attempt_at) filter (
            where last_validation_attempt_at <= {{ sendgrid_as_of() }}
        ) as last_activity_at,
        null::bigint as usage_limit
    from domains
    group by 1, 2

),

link_branding as (

    select
        tenant_id,
        'link_branding' as feature_code,
        count(*) filter (where is_valid) as usage_count,
        null::timestamptz as last_activity_at,
        null::bigint as usage_limit
    from link_brandings
    group by 1, 2

),

unioned as (

    select * from dedicated_ips
    union all
    select * from pools
    union all
    select * from domain_authentication
    union all
    select * from link_branding

),

final as (

    select
        tenant_id,
        feature_code,
        usage_count::bigint as usage_count,
        last_activity_at,
        usage_limit::bigint as usage_limit,
        null::bigint as emails_90d
    from unioned

)

select * from final
