{#-
    One row per tenant, month and suppression kind, from the first month with an entry to
    the as-of month: entries created that month (parent and subusers together, by the UTC
    month of `created`, up to the as-of instant) and the running total up to the end of the
    month. Known for the months that the kind's stream and the subuser list both cover: the
    subusers' entries are read for the subusers listed, so without the list (a key lacking
    subusers.read) the counts hold the parent's alone and are unknown (null), as for volume
    (int_sendgrid__volume_readability); a plan without subusers has the list not_licensed.
-#}
with

suppressions as (

    select * from {{ ref('int_sendgrid__suppressions_unioned') }}

),

readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}

),

kinds as (

    select kind
    from (
        values ('bounce'), ('block'), ('spam_report'), ('invalid_email'), ('unsubscribe')
    ) as suppression_kinds (kind)

),

monthly as (

    select
        tenant_id,
        suppression_kind,
        date_trunc('month', created_at at time zone 'UTC')::date as suppression_month,
        count(*) as new_count
    from suppressions
    where created_at < {{ sendgrid_as_of() }}
    group by 1, 2, 3

),

tenant_ranges as (

    select
        tenant_id,
        min(suppression_month) as first_month,
        date_trunc('month', {{ sendgrid_as_of_date() }})::date as last_month
    from monthly
    group by 1

),

spine as (

    select
        tenant_ranges.tenant_id,
        kinds.kind as suppression_kind,
        month_series.month::date as suppression_month
    from tenant_ranges
    cross join kinds
    cross join lateral generate_series(
        tenant_ranges.first_month::timestamp,
        tenant_ranges.last_month::timestamp,
        interval '1 month'
    ) as month_series (month)

),

known as (

    select
        spine.*,
        monthly.new_count,
        -- the month's days up to the as-of day are covered, by the kind's stream and by the
        -- subuser list (int_sendgrid__stream_readability.covered_through_date)
        {%- set last_day = "least((spine.suppression_month + interval '1 month - 1 day')::date, "
            ~ sendgrid_as_of_date() ~ ")" %}
        -- (a null coverage, never read, leaves it unknown: least() would skip it)
        coalesce(
            {{ last_day }} <= readability.covered_through_date
            and {{ last_day }} <= subusers.covered_through_date,
            false
        ) as is_known
    from spine
    left join monthly
        on
            spine.tenant_id = monthly.tenant_id
            and spine.suppression_kind = monthly.suppression_kind
            and spine.suppression_month = monthly.suppression_month
    -- the stream of a kind is its plural: bounce -> bounces
    left join readability
        on
            spine.tenant_id = readability.tenant_id
            and spine.suppression_kind || 's' = readability.stream_name
    left join readability as subusers
        on spine.tenant_id = subusers.tenant_id and subusers.stream_name = 'subusers'

),

final as (

    select
        md5(
            tenant_id || '|' || suppression_month::text || '|' || suppression_kind
        )::text as suppression_month_id,
        tenant_id::text as tenant_id,
        suppression_month::date as suppression_month,
        suppression_kind::text as suppression_kind,
        (case when is_known then coalesce(new_count, 0) end)::bigint as new_suppressions,
        (case
            when is_known
                then sum(coalesce(new_count, 0)) over (
                        partition by tenant_id, suppression_kind
                        order by suppression_month
                    )
        end)::bigint as cumulative_suppressions
    from known

)

select * from final
