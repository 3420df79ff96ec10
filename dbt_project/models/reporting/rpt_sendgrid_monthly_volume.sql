{#-
    Dashboard: the "Monthly volume" chart: emails requested per calendar month by the parent
    and by its subusers, for the 12 months ending with the as-of month (from the tenant's
    first month with stats; months without stats count 0). The as-of month is month to date
    (`is_month_to_date`) unless the as-of day is its last day.

    Unknown is never zero: a month whose days (to the as-of day) are not all covered by the
    streams they come from is null (int_sendgrid__volume_readability: the parent's by
    /v3/stats, the subusers' and the total by the subuser list too).
-#}
{%- set last_day = "least((spine.activity_month + interval '1 month - 1 day')::date, "
    ~ sendgrid_as_of_date() ~ ")" %}
with

monthly as (

    select * from {{ ref('int_sendgrid__tenant_requests_monthly') }}

),

volume_readability as (

    select * from {{ ref('int_sendgrid__volume_readability') }}

),

tenant_ranges as (

    select
        tenant_id,
        greatest(
            min(activity_month),
            (date_trunc('month', {{ sendgrid_as_of_date() }}) - interval '11 months')::date
        ) as first_month
    from monthly
    group by 1

),

spine as (

    select
        tenant_ranges.tenant_id,
        month_series.month::date as activity_month
    from tenant_ranges
    cross join lateral generate_series(
        tenant_ranges.first_month::timestamp,
        date_trunc('month', {{ sendgrid_as_of_date() }}::timestamp),
        interval '1 month'
    ) as month_series (month)

),

final as (

    select
        md5(spine.tenant_id || '|' || spine.activity_month::text)::text as volume_month_id,
        spine.tenant_id::text as tenant_id,
        spine.activity_month::date as activity_month,
        (case
            when {{ last_day }} <= volume_readability.parent_covered_through_date
                then coalesce(monthly.parent_requests, 0)
        end)::bigint as parent_requests,
        {%- for column in ['subuser_requests', 'requests'] %}
            (case
                when {{ last_day }} <= volume_readability.covered_through_date
                    then coalesce(monthly.{{ column }}, 0)
            end)::bigint as {{ column }},
        {%- endfor %}
        coalesce(monthly.days_with_data, 0)::integer as days_with_data,
        monthly.last_activity_date::date as last_activity_date,
        (
            spine.activity_month = date_trunc('month', {{ sendgrid_as_of_date() }})::date
            and {{ sendgrid_as_of_date() }} + 1
            < (spine.activity_month + interval '1 month')::date
        )::boolean as is_month_to_date,
        {{ sendgrid_as_of() }} as as_of_at
    from spine
    left join monthly
        on
            spine.tenant_id = monthly.tenant_id
            and spine.activity_month = monthly.activity_month
    left join volume_readability on spine.tenant_id = volume_readability.tenant_id

)

{{ sendgrid_select_with_tenant_flags('final') }}
