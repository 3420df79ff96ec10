{#-
    Feature evidence of account features and integrations, per tenant: subusers (enabled),
    event webhooks (enabled, against the plan's `max_allowed`), inbound parse (hostnames;
    last activity = the latest day an email was received), bulk email validation jobs,
    alerts and unsubscribe groups.
-#}
with

subusers as (

    select * from {{ ref('stg_sendgrid__subusers') }}
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
    where stat_date <= {{ sendgrid_as_of_date() }}

),

validation_jobs as (

    select * from {{ ref('stg_sendgrid__validation_jobs') }}
    where is_current and not is_deleted

),

alerts as (

    select * from {{ ref('stg_sendgrid__alerts') }}
    where is_current and not is_deleted

),

asm_groups as (

    select * from {{ ref('stg_sendgrid__asm_groups') }}
    where is_current and not is_deleted

),

subuser_usage as (

    select
        tenant_id,
        'subusers' as feature_code,
        count(*) filter (where not is_disabled) as usage_count,
        max({{ sendgrid_at_most_as_of('first_seen_at') }}) as last_activity_at,
        null::bigint as usage_limit
    from subusers
    group by 1, 2

),

enabled_hooks as (

    select
        tenant_id,
        count(*) filter (where is_enabled) as enabled_count,
        max(updated_at) filter (where updated_at <= {{ sendgrid_as_of() }}) as last_updated_at
    from event_webhooks
    group by 1

),

webhook_usage as (

    select
        event_webhook_limits.tenant_id,
        'event_webhooks' as feature_code,
        coalesce(max(enabled_hooks.enabled_count), 0) as usage_count,
        max(enabled_hooks.last_updated_at) as last_activity_at,
        max(event_webhook_limits.max_allowed) as usage_limit
    from event_webhook_limits
    left join enabled_hooks on event_webhook_limits.tenant_id = enabled_hooks.tenant_id
    group by 1, 2

),

parse_received as (

    select
        tenant_id,
        (max(stat_date) filter (where emails_received > 0))::timestamp
        at time zone 'UTC' as last_received_at
    from parse_stats
    group by 1

),

parse_usage as (

    select
        parse_settings.tenant_id,
        'inbound_parse' as feature_code,
        count(*) as usage_count,
        max(parse_received.last_received_at) as last_activity_at,
        null::bigint as usage_limit
    from parse_settings
    left join parse_received on parse_settings.tenant_id = parse_received.tenant_id
    group by 1, 2

),

validation_usage as (

    select
        tenant_id,
        'email_validation' as feature_code,
        count(*) as usage_count,
        max(started_at) filter (where started_at <= {{ sendgrid_as_of() }}) as last_activity_at,
        null::bigint as usage_limit
    from validation_jobs
    group by 1, 2

),

alert_usage as (

    select
        tenant_id,
        'alerts' as feature_code,
        count(*) as usage_count,
        max(updated_at) filter (where updated_at <= {{ sendgrid_as_of() }}) as last_activity_at,
        null::bigint as usage_limit
    from alerts
    group by 1, 2

),

unsubscribe_group_usage as (

    select
        tenant_id,
        'unsubscribe_groups' as feature_code,
        count(*) as usage_count,
        null::timestamptz as last_activity_at,
        null::bigint as usage_limit
    from asm_groups
    group by 1, 2

),

unioned as (

    select * from subuser_usage
    union all
    select * from webhook_usage
    union all
    select * from parse_usage
    union all
    select * from validation_usage
    union all
    select * from alert_usage
    union all
    select * from unsubscribe_group_usage

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
