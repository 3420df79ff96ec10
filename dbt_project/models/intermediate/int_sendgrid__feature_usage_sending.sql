{#-
    Feature evidence of the sending infrastructure, per tenant: dedicated IPs (the union of
    /v3/ips, /v3/ips/assigned and the enabled IPs of /v3/send_ips), IP pools, domain
    authentication and link branding (validated domains only). Current records only.
    Domains and link brandings are read for the parent and each subuser, and the parent's list
    includes its subusers' (/v3/whitelabel/domains offers `exclude_subusers` to leave them
    out): each is counted once, by its id.
-#}
with

{{
  sendgrid_current_ctes([
    ('ips', 'stg_sendgrid__ips', "subuser = ''"),
    ('ips_assigned', 'stg_sendgrid__ips_assigned', "subuser = ''"),
    ('send_ips', 'stg_sendgrid__send_ips', "subuser = '' and is_enabled"),
    ('ip_pools', 'stg_sendgrid__ip_pools', "subuser = ''"),
    ('domains', 'stg_sendgrid__authenticated_domains'),
    ('link_brandings', 'stg_sendgrid__link_brandings')
  ])
}}

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
        count(distinct authenticated_domain_id) filter (where is_valid) as usage_count,
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
        count(distinct link_branding_id) filter (where is_valid) as usage_count,
        null::timestamptz as last_activity_at,
        null::bigint as usage_limit
    from link_brandings
    group by 1, 2

),

final as (

    {{
        sendgrid_feature_usage_rows([
            'dedicated_ips',
            'pools',
            'domain_authentication',
            'link_branding'
        ])
    }}

)

select * from final
