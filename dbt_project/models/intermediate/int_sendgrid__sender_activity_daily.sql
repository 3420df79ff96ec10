{#-
    Daily metrics per tenant, sender and day. The parent comes from /v3/stats (subuser = ''),
    subusers from the parent-level /v3/subusers/stats; /v3/stats read on-behalf-of a subuser
    only fills days /v3/subusers/stats does not have. `source_extracted_at` is when the
    loader last wrote the day (the incremental high-water mark of the daily mart).
-#}
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
            ranked.{{ metric }},
        {%- endfor %}
        ranked.extracted_at as source_extracted_at
    from ranked
    left join parent_usernames
        on ranked.tenant_id = parent_usernames.tenant_id
    where ranked.rank_in_day = 1

)

select * from final
