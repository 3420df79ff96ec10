{#-
    One row per tenant and credit period of the parent account. Every stored version of
    /v3/user/credits belongs to the period that starts at its `last_reset`; the latest
    version seen in a period holds the period's figures.
-#}
with

credits as (

    select * from {{ ref('stg_sendgrid__credits') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by tenant_id, last_reset_at
            order by last_seen_at desc, extracted_at desc
        ) as rank_in_period
    from credits
    where subuser = '' and last_reset_at is not null

),

periods as (

    select
        tenant_id,
        (last_reset_at at time zone 'UTC')::date as period_start_date,
        coalesce(
            (next_reset_at at time zone 'UTC')::date,
            -- no next reset given: one period of its frequency (a calendar month, not 30 days)
            (
                (last_reset_at at time zone 'UTC')::date
                + case reset_frequency
                    when 'daily' then interval '1 day'
                    when 'weekly' then interval '7 days'
                    else interval '1 month'
                end
            )::date
        ) as period_end_date,
        reset_frequency,
        credits_total,
        credits_used,
        credits_remain,
        credits_overage,
        last_seen_at as observed_at,
        is_current and not is_deleted as is_current_period
    from ranked
    where rank_in_period = 1

)

select * from periods
