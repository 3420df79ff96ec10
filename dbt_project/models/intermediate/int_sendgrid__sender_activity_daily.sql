{#-
    Daily metrics per tenant, sender and day. The parent comes from /v3/stats (subuser = ''),
    subusers from the parent-level /v3/subusers/stats; /v3/stats read on-behalf-of a subuser
    only fills days /v3/subusers/stats does not have. `source_extracted_at` is when the
    loader last wrote the day (the incremental high-water mark of the daily mart).

    The parent's row is its own sending. SendGrid documents /v3/stats read as the parent as
    "aggregated stats for the parent account" (older documentation: "for their account and all
    subuser accounts"). Where an account's parent figures include its subusers' (check: see the
    README's real-account setup), set the var `sendgrid_parent_stats_include_subusers: true`:
    the parent's row is then its figure less the day's subuser rows (never below zero), so
    that no email counts twice in the tenant's totals.
-#}
{%- set parent_includes_subusers =
    'true' if var('sendgrid_parent_stats_include_subusers', false) else 'false' %}
with

global_stats as (

    select * from {{ ref('stg_sendgrid__global_stats') }}

),

subuser_stats as (

    select * from {{ ref('stg_sendgrid__subuser_stats') }}

),

usernames as (

    select * from {{ ref('stg_sendgrid__usernames') }}

),

parent_usernames as (

    select
        tenant_id,
        max(username) as username
    from usernames
    where subuser = '' and is_current and not is_deleted
    group by 1

),

parent_days as (

    select
        tenant_id,
        'parent' as sender_type,
        '' as subuser_username,
        stat_date,
        1 as source_priority,
        {{ sendgrid_metric_names() | join(', ') }},
        extracted_at
    from global_stats
    where subuser = ''

),

subuser_days as (

    select
        tenant_id,
        'subuser' as sender_type,
        subuser_username,
        stat_date,
        1 as source_priority,
        {{ sendgrid_metric_names() | join(', ') }},
        extracted_at
    from subuser_stats

),

on_behalf_of_days as (

    select
        tenant_id,
        'subuser' as sender_type,
        subuser as subuser_username,
        stat_date,
        2 as source_priority,
        {{ sendgrid_metric_names() | join(', ') }},
        extracted_at
    from global_stats
    where subuser <> ''

),

unioned as (

    select * from parent_days
    union all
    select * from subuser_days
    union all
    select * from on_behalf_of_days

),

ranked as (

    select
        *,
        row_number() over (
            partition by tenant_id, sender_type, subuser_username, stat_date
            order by source_priority asc, extracted_at desc
        ) as rank_in_day
    from unioned

),

subuser_sums as (

    select
        tenant_id,
        stat_date,
        {%- for metric in sendgrid_metric_names() %}
            sum({{ metric }}) as {{ metric }},
        {%- endfor %}
        max(extracted_at) as extracted_at
    from ranked
    where sender_type = 'subuser' and rank_in_day = 1
    group by 1, 2

),

final as (

    select
        ranked.tenant_id,
        ranked.sender_type,
        ranked.subuser_username,
        case
            when ranked.sender_type = 'parent'
                then coalesce(parent_usernames.username, '(parent)')
            else ranked.subuser_username
        end as sender_username,
        ranked.stat_date as activity_date,
        {%- for metric in sendgrid_metric_names() %}
            case
                when {{ parent_includes_subusers }} and ranked.sender_type = 'parent'
                    then greatest(ranked.{{ metric }} - coalesce(subuser_sums.{{ metric }}, 0), 0)
                else ranked.{{ metric }}
            end as {{ metric }},
        {%- endfor %}
        -- a parent row less its subusers' changes when one of theirs is loaded again
        case
            when {{ parent_includes_subusers }} and ranked.sender_type = 'parent'
                then greatest(ranked.extracted_at, subuser_sums.extracted_at)
            else ranked.extracted_at
        end as source_extracted_at
    from ranked
    left join parent_usernames
        on ranked.tenant_id = parent_usernames.tenant_id
    left join subuser_sums
        on
            ranked.sender_type = 'parent'
            and ranked.tenant_id = subuser_sums.tenant_id
            and ranked.stat_date = subuser_sums.stat_date
    where ranked.rank_in_day = 1

)

select * from final
