{#-
    One row per tenant and credit period of the parent account. Every stored version of
    /v3/user/credits belongs to the period that starts at its `last_reset`; the latest
    version seen in a period holds the period's figures.
    A period ends at its `next_reset`, or at the start of the tenant's next period when that
    comes first: a plan change resets the credits mid-period, and the old period's last
    reading still names its old `next_reset` (so periods never overlap, and a day's emails
    belong to one period).
    `observed_as_of_at` is the as-of of the extract run that took the last reading: the
    instant its figures stand for in the data's timeline (the loader's `observed_at` is the
    wall clock, hours or days away from it under a simulated clock or a delayed run).
-#}
with

credits as (

    select * from {{ ref('stg_sendgrid__credits') }}

),

extract_runs as (

    select * from {{ ref('stg_sendgrid__extract_runs') }}

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

read_periods as (

    select
        ranked.tenant_id,
        (ranked.last_reset_at at time zone 'UTC')::date as period_start_date,
        coalesce(
            (ranked.next_reset_at at time zone 'UTC')::date,
            -- no next reset given: one period of its frequency (a calendar month, not 30 days)
            (
                (ranked.last_reset_at at time zone 'UTC')::date
                + case ranked.reset_frequency
                    when 'daily' then interval '1 day'
                    when 'weekly' then interval '7 days'
                    else interval '1 month'
                end
            )::date
        ) as next_reset_date,
        ranked.reset_frequency,
        ranked.credits_total,
        ranked.credits_used,
        ranked.credits_remain,
        ranked.credits_overage,
        ranked.last_seen_at as observed_at,
        ranked.extract_run_id as observed_extract_run_id,
        extract_runs.as_of_at as observed_as_of_at,
        ranked.is_current and not ranked.is_deleted as is_current_period
    from ranked
    left join extract_runs on ranked.extract_run_id = extract_runs.extract_run_id
    where ranked.rank_in_period = 1

),

periods as (

    select
        tenant_id,
        period_start_date,
        least(
            next_reset_date,
            lead(period_start_date) over (
                partition by tenant_id order by period_start_date
            )
        ) as period_end_date,
        reset_frequency,
        credits_total,
        credits_used,
        credits_remain,
        credits_overage,
        observed_at,
        observed_extract_run_id,
        observed_as_of_at,
        is_current_period
    from read_periods

)

select * from periods
