{#-
    Feature evidence of content, per tenant: dynamic and legacy transactional templates (last
    activity = the latest edit of one of their versions) and categories (last activity = the
    latest day a category requested email; emails over the 90 days ending on the as-of day).
-#}
with

{{
  sendgrid_current_ctes([
    ('templates', 'stg_sendgrid__templates', "generation in ('dynamic', 'legacy')"),
    ('template_versions', 'stg_sendgrid__template_versions'),
    ('categories', 'stg_sendgrid__categories')
  ])
}}

category_stats as (

    select * from {{ ref('stg_sendgrid__category_stats') }}
    where stat_date <= {{ sendgrid_as_of_date() }}

),

template_edits as (

    select
        tenant_id,
        subuser,
        template_id,
        max(updated_at) filter (where updated_at <= {{ sendgrid_as_of() }}) as last_edited_at
    from template_versions
    group by 1, 2, 3

),

template_usage as (

    select
        templates.tenant_id,
        templates.generation || '_templates' as feature_code,
        count(*) as usage_count,
        max(
            greatest(
                template_edits.last_edited_at,
                case
                    when templates.updated_at <= {{ sendgrid_as_of() }} then templates.updated_at
                end
            )
        ) as last_activity_at,
        null::bigint as usage_limit,
        null::bigint as emails_90d
    from templates
    left join template_edits
        on
            templates.tenant_id = template_edits.tenant_id
            and templates.subuser = template_edits.subuser
            and templates.template_id = template_edits.template_id
    group by 1, 2

),

category_sends as (

    select
        tenant_id,
        (max(stat_date) filter (where requests > 0))::timestamp
        at time zone 'UTC' as last_used_at,
        sum(requests) filter (
            where stat_date > {{ sendgrid_as_of_date() }} - 90
        ) as requests_90d
    from category_stats
    group by 1

),

category_usage as (

    select
        categories.tenant_id,
        'categories' as feature_code,
        count(distinct categories.category_name) as usage_count,
        max(category_sends.last_used_at) as last_activity_at,
        null::bigint as usage_limit,
        max(category_sends.requests_90d) as emails_90d
    from categories
    left join category_sends on categories.tenant_id = category_sends.tenant_id
    group by 1, 2

),

final as (

    {{ sendgrid_feature_usage_rows(['template_usage', 'category_usage'], with_emails_90d=true) }}

)

select * from final
