{#-
    Feature evidence of Marketing Campaigns, per tenant: single sends sent (triggered) in the
    90 days ending at the as-of instant (and the emails they requested, from the single-send
    stats), automations that requested email, contacts stored, lists plus segments.
-#}
with

{{
  sendgrid_current_ctes([
    ('single_sends', 'stg_sendgrid__single_sends'),
    ('singlesend_stats', 'stg_sendgrid__singlesend_stats', "ab_phase in ('all', '')"),
    ('automation_stats', 'stg_sendgrid__automation_stats'),
    ('contact_counts', 'stg_sendgrid__contact_counts'),
    ('marketing_lists', 'stg_sendgrid__marketing_lists'),
    ('segments', 'stg_sendgrid__segments')
  ])
}}

recent_sends as (

    select
        tenant_id,
        single_send_id,
        send_at
    from single_sends
    where
        status = 'triggered'
        -- 90 UTC days: day arithmetic on a timestamptz would follow the session's TimeZone
        and send_at > ({{ sendgrid_as_of() }} at time zone 'UTC' - interval '90 days')
        at time zone 'UTC'
        and send_at <= {{ sendgrid_as_of() }}

),

send_emails as (

    select
        tenant_id,
        single_send_id,
        sum(requests) as requests
    from singlesend_stats
    group by 1, 2

),

single_send_usage as (

    select
        single_sends.tenant_id,
        'single_sends_90d' as feature_code,
        count(distinct recent_sends.single_send_id) as usage_count,
        max(single_sends.send_at) filter (
            where single_sends.status = 'triggered'
            and single_sends.send_at <= {{ sendgrid_as_of() }}
        ) as last_activity_at,
        null::bigint as usage_limit,
        sum(send_emails.requests) filter (
            where recent_sends.single_send_id is not null
        ) as emails_90d
    from single_sends
    left join recent_sends
        on
            single_sends.tenant_id = recent_sends.tenant_id
            and single_sends.single_send_id = recent_sends.single_send_id
    left join send_emails
        on
            single_sends.tenant_id = send_emails.tenant_id
            and single_sends.single_send_id = send_emails.single_send_id
    group by 1, 2

),

automation_usage as (

    select
        tenant_id,
        'automations' as feature_code,
        count(distinct automation_id) filter (where requests > 0) as usage_count,
        null::timestamptz as last_activity_at,
        null::bigint as usage_limit,
        null::bigint as emails_90d
    from automation_stats
    group by 1, 2

),

contact_usage as (

    select
        tenant_id,
        'marketing_contacts' as feature_code,
        sum(contact_count) as usage_count,
        null::timestamptz as last_activity_at,
        null::bigint as usage_limit,
        null::bigint as emails_90d
    from contact_counts
    group by 1, 2

),

lists_and_segments as (

    select
        tenant_id,
        marketing_list_id as object_id
    from marketing_lists

    union all

    select
        tenant_id,
        segment_id as object_id
    from segments

),

list_usage as (

    select
        tenant_id,
        'lists_segments' as feature_code,
        count(*) as usage_count,
        null::timestamptz as last_activity_at,
        null::bigint as usage_limit,
        null::bigint as emails_90d
    from lists_and_segments
    group by 1, 2

),

final as (

    {{
        sendgrid_feature_usage_rows([
            'single_send_usage',
            'automation_usage',
            'contact_usage',
            'list_usage'
        ], with_emails_90d=true)
    }}

)

select * from final
