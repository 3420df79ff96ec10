{#-
    Evidence of use per tenant and feature, from the current (not deleted) records of the
    parent and its subusers. One row per tenant and feature that has any evidence row;
    features without records are filled in by fct_sendgrid_feature_adoption.
    Union branches take the column names of the first branch, hence no aliases there
    (AL03) and the small inline aggregations (ST05).
-#}
-- noqa: disable=AL03,ST05
with

subusers as (

    select * from {{ ref('stg_sendgrid__subusers') }}
    where is_current and not is_deleted

),

ips as (

    select * from {{ ref('stg_sendgrid__ips') }}
    where is_current and not is_deleted and subuser = ''

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

templates as (

    select * from {{ ref('stg_sendgrid__templates') }}
    where is_current and not is_deleted

),

single_sends as (

    select * from {{ ref('stg_sendgrid__single_sends') }}
    where is_current and not is_deleted

),

automation_stats as (

    select * from {{ ref('stg_sendgrid__automation_stats') }}
    where is_current and not is_deleted

),

contact_counts as (

    select * from {{ ref('stg_sendgrid__contact_counts') }}
    where is_current and not is_deleted

),

marketing_lists as (

    select * from {{ ref('stg_sendgrid__marketing_lists') }}
    where is_current and not is_deleted

),

segments as (

    select * from {{ ref('stg_sendgrid__segments') }}
    where is_current and not is_deleted

),

event_webhooks as (

    select * from {{ ref('stg_sendgrid__event_webhooks') }}
    where is_current and not is_deleted

),

event_webhook_limits as (

    select * from {{ ref('stg_sendgrid__event_webhook_limits') }}
    where is_current and not is_deleted and subuser = ''

),

parse_settings as (

    select * from {{ ref('stg_sendgrid__parse_settings') }}
    where is_current and not is_deleted

),

parse_stats as (

    select * from {{ ref('stg_sendgrid__parse_stats') }}

),

validation_jobs as (

    select * from {{ ref('stg_sendgrid__validation_jobs') }}
    where is_current and not is_deleted

),

alerts as (

    select * from {{ ref('stg_sendgrid__alerts') }}
    where is_current and not is_deleted

),

categories as (

    select * from {{ ref('stg_sendgrid__categories') }}
    where is_current and not is_deleted

),

category_stats as (

    select * from {{ ref('stg_sendgrid__category_stats') }}

),

extraction_times as (

    -- "now" of the data: the latest extraction per tenant (keeps windows reproducible)
    select
        tenant_id,
        max(extracted_at) as as_of_at
    from {{ ref('stg_sendgrid__credits') }}
    group by 1

),

unioned as (

    select
        tenant_id,
        'subusers' as feature_code,
        count(*) filter (where not is_disabled) as usage_count,
        max(first_seen_at) as last_activity_at,
        null::bigint as usage_limit
    from subusers
    group by 1

    union all

    select
        tenant_id,
        'dedicated_ips',
        count(*),
        max(greatest(assigned_at, warmup_started_at)),
        null
    from ips
    group by 1

    union all

    select
        tenant_id,
        'ip_pools',
        count(*),
        null,
        null
    from ip_pools
    group by 1

    union all

    select
        tenant_id,
        'domain_authentication',
        count(*) filter (where is_valid),
        max(last_validation_attempt_at),
        null
    from domains
    group by 1

    union all

    select
        tenant_id,
        'link_branding',
        count(*) filter (where is_valid),
        null,
        null
    from link_brandings
    group by 1

    union all

    select
        tenant_id,
        generation || '_templates',
        count(*),
        max(updated_at),
        null
    from templates
    where generation in ('dynamic', 'legacy')
    group by 1, 2

    union all

    select
        single_sends.tenant_id,
        'single_sends_90d',
        count(*) filter (
            where
            single_sends.status in ('triggered', 'scheduled')
            and single_sends.send_at
            >= extraction_times.as_of_at - interval '90 days'
        ),
        max(single_sends.send_at) filter (
            where single_sends.send_at <= extraction_times.as_of_at
        ),
        null
    from single_sends
    left join extraction_times on single_sends.tenant_id = extraction_times.tenant_id
    group by 1

    union all

    select
        tenant_id,
        'automations',
        count(distinct automation_id) filter (where requests > 0),
        null,
        null
    from automation_stats
    group by 1

    union all

    select
        tenant_id,
        'marketing_contacts',
        sum(contact_count),
        max(last_seen_at),
        null
    from contact_counts
    group by 1

    union all

    select
        tenant_id,
        'lists_segments',
        sum(object_count),
        null,
        null
    from (
        select
            tenant_id,
            count(*) as object_count
        from marketing_lists
        group by 1
        union all
        select
            tenant_id,
            count(*)
        from segments
        group by 1
    ) as lists_and_segments
    group by 1

    union all

    select
        event_webhook_limits.tenant_id,
        'event_webhooks',
        coalesce(enabled_hooks.enabled_count, 0),
        enabled_hooks.last_updated_at,
        max(event_webhook_limits.max_allowed)
    from event_webhook_limits
    left join (
        select
            tenant_id,
            count(*) filter (where is_enabled) as enabled_count,
            max(updated_at) as last_updated_at
        from event_webhooks
        group by 1
    ) as enabled_hooks on event_webhook_limits.tenant_id = enabled_hooks.tenant_id
    group by 1, 3, 4

    union all

    select
        inbound.tenant_id,
        'inbound_parse',
        inbound.hostnames,
        received.last_received_at,
        null
    from (
        select
            tenant_id,
            count(*) as hostnames
        from parse_settings
        group by 1
    ) as inbound
    left join (
        select
            tenant_id,
            (max(stat_date) filter (where emails_received > 0))::timestamp
            at time zone 'UTC' as last_received_at
        from parse_stats
        group by 1
    ) as received on inbound.tenant_id = received.tenant_id

    union all

    select
        tenant_id,
        'email_validation',
        count(*),
        max(started_at),
        null
    from validation_jobs
    group by 1

    union all

    select
        tenant_id,
        'alerts',
        count(*),
        max(updated_at),
        null
    from alerts
    group by 1

    union all

    select
        categories.tenant_id,
        'categories',
        count(distinct categories.category_name),
        max(used.last_used_at),
        null
    from categories
    left join (
        select
            tenant_id,
            (max(stat_date) filter (where requests > 0))::timestamp
            at time zone 'UTC' as last_used_at
        from category_stats
        group by 1
    ) as used on categories.tenant_id = used.tenant_id
    group by 1

),

final as (

    select
        tenant_id,
        feature_code,
        usage_count::bigint as usage_count,
        last_activity_at,
        usage_limit::bigint as usage_limit
    from unioned

)

select * from final
