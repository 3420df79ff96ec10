{#-
    Feature evidence of account features and integrations, per tenant: subusers (enabled),
    event webhooks (enabled on the parent and its subusers, against the sum of each account's
    own `max_allowed`: every account has its limit), inbound parse (hostnames;
    last activity = the latest day an email was received), bulk email validation jobs,
    alerts and unsubscribe groups.
-#}
with

{{
  sendgrid_current_ctes([
    ('subusers', 'stg_sendgrid__subusers'),
    ('event_webhooks', 'stg_sendgrid__event_webhooks'),
    ('event_webhook_limits', 'stg_sendgrid__event_webhook_limits'),
    ('parse_settings', 'stg_sendgrid__parse_settings'),
    ('validation_jobs', 'stg_sendgrid__validation_jobs'),
    ('alerts', 'stg_sendgrid__alerts'),
    ('asm_groups', 'stg_sendgrid__asm_groups')
  ])
}}

parse_stats as (

    select * from {{ ref('stg_sendgrid__parse_stats') }}
    where stat_date <= {{ sendgrid_as_of_date() }}

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
        sum(event_webhook_limits.max_allowed) as usage_limit
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

final as (

    {{
        sendgrid_feature_usage_rows([
            'subuser_usage',
            'webhook_usage',
            'parse_usage',
            'validation_usage',
            'alert_usage',
            'unsubscribe_group_usage'
        ])
    }}

)

select * from final
