{#-
    One row per tenant and credit period: credits used against the period's credits, the
    emails requested in the period, and a projection to the period end at the as-of
    instant, with its basis and confidence.

    Projection (open periods) = credits used + daily rate x days left, the as-of day (the last
    complete day: sendgrid_as_of_date) counting as elapsed. The daily rate, in order of
    preference:
      1. trailing_window: emails requested per day over the `sendgrid_projection_window_days`
         days through the as-of day, when at least `sendgrid_projection_min_days` days of
         stats are there;
      2. previous_period: the previous credit period's credits used per day;
      3. period_to_date: credits used so far per elapsed day.
    A closed period (the as-of instant is at or after its end) is its actual use (basis
    `actual`): its last /v3/user/credits reading, which a run takes minutes after its
    midnight as-of, so it misses the sends from then to the period's end (a Nov 1 - Dec 1
    period last read Nov 30 00:10 misses Nov 30). Stats are daily, so the reading stands for
    the use up to the (UTC) midnight nearest to it, and the emails requested on the days from
    that midnight through the period's last day are added to it (credits used, remaining and
    overdrawn) when the tenant's volume covers them (int_sendgrid__volume_readability). Not
    exact: the sends between the reading and that midnight are counted twice (a reading
    before it) or not at all (after it), at most half a day's, minutes' for a scheduled run.
    The reading's time is the as-of of the extract run that took it
    (int_sendgrid__credit_periods.observed_as_of_at), not the loader's wall clock: the same
    history gives the same figures whatever day it was extracted on (a simulated clock), and
    a run retried hours after its as-of counts the hours it read again (at most a day's).
    When the volume does not cover those days the period is its last reading, a lower bound:
    confidence low, and projection_note says which days are not counted.
    Stats count only where the tenant's whole volume is known (int_sendgrid__volume_readability
    covers the days): otherwise the trailing window is not a basis (the credits are) and the
    period's emails_requested is null (unknown, never a partial sum).
    Confidence: high (actual, or 28+ days of trailing data), medium (7+ days of data, or
    the previous period), low (fewer than 7 days).

    Status, in order: unknown (no credit total), overage (overage > 0 or used > total),
    insufficient_data (open period whose rate rests on fewer than
    `sendgrid_projection_min_days` days: never at_risk or under_used from so little),
    at_risk (projection above the credits), under_used (projection below
    `sendgrid_under_used_below` of the credits), healthy.

    The projected overage is priced at the overage rate (sendgrid_plan_catalog) of the plan
    in force during the period (`period_plan_code`, `period_plan_basis`), never at today's
    plan's for a period that was on another one. A plan change resets the credits with the
    new plan's total, so each period's own credits reading says which plan it was on:
      - current_period: the current period is on the current plan (int_sendgrid__tenant_plans,
        a contract's when one is set);
      - same_credits_as_current: an earlier period with the current period's credits total
        and reset frequency saw no plan change: the current plan;
      - credits_match_tier: an earlier period with other credits was on the one catalog tier
        they name (credits resetting daily: Free; else the tier whose monthly emails equal
        them);
      - unknown: no single tier matches (Essentials 100K and Pro 100K both give 100,000, a
        custom volume): the plan, its rate and the cost are null, never today's guessed.
-#}
{%- set min_days = var('sendgrid_projection_min_days') %}
with

period_readings as (

    select * from {{ ref('int_sendgrid__credit_periods') }}

),

daily as (

    select * from {{ ref('int_sendgrid__tenant_requests_daily') }}

),

tenant_plans as (

    select * from {{ ref('int_sendgrid__tenant_plans') }}

),

volume_readability as (

    select * from {{ ref('int_sendgrid__volume_readability') }}

),

plan_catalog as (

    select * from {{ ref('sendgrid_plan_catalog') }}

),

current_readings as (

    -- the current period's credits: the allowance of the current plan
    select
        tenant_id,
        credits_total,
        reset_frequency
    from period_readings
    where is_current_period

),

tier_matches as (

    -- the catalog tiers a period's credits name (Free: credits resetting daily); more than
    -- one (Essentials 100K and Pro 100K both give 100,000) leaves the plan unknown
    select
        period_readings.tenant_id,
        period_readings.period_start_date,
        min(plan_catalog.plan_code) as plan_code,
        count(*) as tier_count
    from period_readings
    inner join plan_catalog
        on
            case
                when period_readings.reset_frequency = 'daily'
                    then plan_catalog.plan_family = 'free'
                else
                    plan_catalog.plan_family <> 'free'
                    and period_readings.credits_total = plan_catalog.monthly_emails
            end
    group by 1, 2

),

plan_bases as (

    -- which plan was in force during each period (see the header)
    select
        period_readings.tenant_id,
        period_readings.period_start_date,
        tier_matches.plan_code as tier_plan_code,
        case
            when period_readings.is_current_period then 'current_period'
            when
                period_readings.credits_total = current_readings.credits_total
                and coalesce(period_readings.reset_frequency, '')
                = coalesce(current_readings.reset_frequency, '')
                then 'same_credits_as_current'
            when tier_matches.tier_count = 1 then 'credits_match_tier'
            else 'unknown'
        end as period_plan_basis
    from period_readings
    left join current_readings on period_readings.tenant_id = current_readings.tenant_id
    left join tier_matches
        on
            period_readings.tenant_id = tier_matches.tenant_id
            and period_readings.period_start_date = tier_matches.period_start_date

),

period_plans as (

    select
        plan_bases.tenant_id,
        plan_bases.period_start_date,
        plan_bases.period_plan_basis,
        case
            when plan_bases.period_plan_basis = 'credits_match_tier'
                then plan_bases.tier_plan_code
            when plan_bases.period_plan_basis <> 'unknown' then tenant_plans.plan_code
        end as period_plan_code,
        case
            when plan_bases.period_plan_basis = 'credits_match_tier'
                then plan_catalog.overage_usd_per_1k
            when plan_bases.period_plan_basis <> 'unknown' then tenant_plans.overage_usd_per_1k
        end as overage_usd_per_1k
    from plan_bases
    left join tenant_plans on plan_bases.tenant_id = tenant_plans.tenant_id
    left join plan_catalog on plan_bases.tier_plan_code = plan_catalog.plan_code

),

read_instants as (

    -- the midnight nearest to the instant a period's last reading stands for: the as-of of
    -- the extract run that took it (a scheduled run reads minutes after its as-of; the
    -- loader's wall-clock time can be days away from the data's, under a simulated clock),
    -- else the loader's time
    select
        tenant_id,
        period_start_date,
        period_end_date,
        (
            (coalesce(observed_as_of_at, observed_at) + interval '12 hours') at time zone 'UTC'
        )::date as midnight_date
    from period_readings

),

closed_after_reading as (

    -- closed periods last read more than half a day before their end: the days from the
    -- midnight nearest to the reading (the first day it does not count) to the period's end
    select
        tenant_id,
        period_start_date,
        period_end_date,
        greatest(midnight_date, period_start_date) as reading_date
    from read_instants
    where
        {{ sendgrid_as_of() }} >= period_end_date::timestamp at time zone 'UTC'
        and midnight_date < period_end_date

),

requests_after_reading as (

    select
        closed_after_reading.tenant_id,
        closed_after_reading.period_start_date,
        closed_after_reading.period_end_date,
        closed_after_reading.reading_date,
        closed_after_reading.period_end_date - closed_after_reading.reading_date
            as days_after_reading,
        case
            -- the days through the period's last day are covered
            when closed_after_reading.period_end_date - 1
                <= max(volume_readability.covered_through_date)
                then coalesce(sum(daily.requests), 0)
        end as requests_after_reading
    from closed_after_reading
    left join volume_readability
        on closed_after_reading.tenant_id = volume_readability.tenant_id
    left join daily
        on
            closed_after_reading.tenant_id = daily.tenant_id
            and closed_after_reading.reading_date <= daily.activity_date
            and closed_after_reading.period_end_date > daily.activity_date
    group by 1, 2, 3, 4

),

credit_periods as (

    select
        period_readings.tenant_id,
        period_readings.period_start_date,
        period_readings.period_end_date,
        period_readings.reset_frequency,
        period_readings.credits_total,
        period_readings.credits_used
        + coalesce(requests_after_reading.requests_after_reading, 0) as credits_used,
        case
            when requests_after_reading.requests_after_reading > 0
                then greatest(
                        period_readings.credits_remain
                        - requests_after_reading.requests_after_reading,
                        0
                    )
            else period_readings.credits_remain
        end as credits_remain,
        case
            when requests_after_reading.requests_after_reading > 0
                then period_readings.credits_overage + greatest(
                        requests_after_reading.requests_after_reading
                        - coalesce(period_readings.credits_remain, 0),
                        0
                    )
            else period_readings.credits_overage
        end as credits_overage,
        period_readings.observed_at,
        -- the instant the reading stands for (read_instants), named in projection_note
        coalesce(period_readings.observed_as_of_at, period_readings.observed_at) as read_at,
        period_readings.is_current_period,
        coalesce(requests_after_reading.days_after_reading, 0) as days_after_reading,
        requests_after_reading.requests_after_reading
    from period_readings
    left join requests_after_reading
        on
            period_readings.tenant_id = requests_after_reading.tenant_id
            and period_readings.period_start_date = requests_after_reading.period_start_date

),

trailing_window as (

    select
        daily.tenant_id,
        count(*) as days_observed,
        sum(daily.requests) as requests
    from daily
    inner join volume_readability
        on
            daily.tenant_id = volume_readability.tenant_id
            -- the window's days, through the as-of day, are all covered
            and volume_readability.covered_through_date >= {{ sendgrid_as_of_date() }}
    where
        daily.activity_date
        > {{ sendgrid_as_of_date() }} - {{ var('sendgrid_projection_window_days') }}
        and daily.activity_date <= {{ sendgrid_as_of_date() }}
    group by 1

),

period_requests as (

    select
        credit_periods.tenant_id,
        credit_periods.period_start_date,
        credit_periods.period_end_date,
        case
            -- its days up to the as-of day are covered
            when least(credit_periods.period_end_date - 1, {{ sendgrid_as_of_date() }})
                <= max(volume_readability.covered_through_date)
                then coalesce(sum(daily.requests), 0)
        end as emails_requested
    from credit_periods
    left join volume_readability on credit_periods.tenant_id = volume_readability.tenant_id
    left join daily
        on
            credit_periods.tenant_id = daily.tenant_id
            and credit_periods.period_start_date <= daily.activity_date
            and credit_periods.period_end_date > daily.activity_date
    group by 1, 2, 3

),

measured as (

    select
        credit_periods.*,
        period_requests.emails_requested,
        greatest(credit_periods.period_end_date - credit_periods.period_start_date, 1)
            as period_days,
        least(
            greatest({{ sendgrid_as_of_date() }} - credit_periods.period_start_date + 1, 0),
            greatest(credit_periods.period_end_date - credit_periods.period_start_date, 1)
        ) as days_elapsed,
        -- its end is a midnight: the as-of instant at or after it (a manual run on the last
        -- day, before midnight, leaves the period open)
        {{ sendgrid_as_of() }} >= credit_periods.period_end_date::timestamp at time zone 'UTC'
            as is_period_closed,
        lag(credit_periods.credits_used) over (
            partition by credit_periods.tenant_id order by credit_periods.period_start_date
        ) as previous_credits_used,
        lag(
            greatest(credit_periods.period_end_date - credit_periods.period_start_date, 1)
        ) over (
            partition by credit_periods.tenant_id order by credit_periods.period_start_date
        ) as previous_period_days
    from credit_periods
    inner join period_requests
        on
            credit_periods.tenant_id = period_requests.tenant_id
            and credit_periods.period_start_date = period_requests.period_start_date

),

based as (

    select
        measured.*,
        coalesce(trailing_window.days_observed, 0) as trailing_days,
        trailing_window.requests as trailing_requests,
        case
            when measured.is_period_closed then 'actual'
            when coalesce(trailing_window.days_observed, 0) >= {{ min_days }} then 'trailing_window'
            when measured.previous_credits_used is not null then 'previous_period'
            else 'period_to_date'
        end as projection_basis
    from measured
    left join trailing_window on measured.tenant_id = trailing_window.tenant_id

),

rated as (

    select
        *,
        case projection_basis
            when 'actual' then {{ safe_divide('credits_used', 'period_days') }}
            when 'trailing_window' then {{ safe_divide('trailing_requests', 'trailing_days') }}
            when 'previous_period'
                then {{ safe_divide('previous_credits_used', 'previous_period_days') }}
            else {{ safe_divide('credits_used', 'days_elapsed') }}
        end as daily_rate,
        case projection_basis
            when 'actual' then period_days
            when 'trailing_window' then trailing_days
            when 'previous_period' then previous_period_days
            else days_elapsed
        end as rate_days_observed
    from based

),

projected as (

    select
        rated.*,
        case
            when rated.is_period_closed then rated.credits_used
            else
                rated.credits_used
                + round(coalesce(rated.daily_rate, 0) * (rated.period_days - rated.days_elapsed))
        end as projected_credits_used,
        case
            -- a closed period's days after its last reading not counted: a lower bound
            when rated.projection_basis = 'actual' and rated.days_after_reading > 0
                and rated.requests_after_reading is null
                then 'low'
            when rated.projection_basis = 'actual' then 'high'
            when rated.projection_basis = 'trailing_window' and rated.rate_days_observed >= 28
                then 'high'
            when rated.rate_days_observed >= {{ min_days }} then 'medium'
            else 'low'
        end as projection_confidence,
        -- a closed period's two parts, named in projection_note
        'the last credits reading ('
        || to_char(rated.read_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI')
        || ' UTC)' as reading_text,
        'the emails requested from its nearest midnight to the period end ('
        || rated.days_after_reading
        || case when rated.days_after_reading = 1 then ' day)' else ' days)' end
            as after_reading_text,
        -- the rate of the plan in force during the period, not today's plan's
        period_plans.period_plan_code,
        period_plans.period_plan_basis,
        period_plans.overage_usd_per_1k
    from rated
    left join period_plans
        on
            rated.tenant_id = period_plans.tenant_id
            and rated.period_start_date = period_plans.period_start_date

),

final as (

    select
        md5(tenant_id || '|' || period_start_date::text)::text as credit_period_id,
        tenant_id::text as tenant_id,
        period_start_date::date as period_start_date,
        period_end_date::date as period_end_date,
        reset_frequency::text as reset_frequency,
        period_days::integer as period_days,
        days_elapsed::integer as days_elapsed,
        (period_days - days_elapsed)::integer as days_remaining,
        is_current_period::boolean as is_current_period,
        is_period_closed::boolean as is_period_closed,
        credits_total::bigint as credits_total,
        credits_used::bigint as credits_used,
        credits_remain::bigint as credits_remain,
        credits_overage::bigint as credits_overage,
        emails_requested::bigint as emails_requested,
        round({{ safe_divide('credits_used', 'credits_total') }} * 100, 2)
            as credits_used_pct,
        round(daily_rate, 2) as daily_run_rate,
        projection_basis::text as projection_basis,
        rate_days_observed::integer as rate_days_observed,
        projection_confidence::text as projection_confidence,
        (case
            when projection_basis = 'actual' and days_after_reading = 0
                then 'actual use of a closed period'
            when projection_basis = 'actual' and requests_after_reading is not null
                then 'actual use of a closed period: ' || reading_text || ' + '
                    || after_reading_text
            when projection_basis = 'actual'
                then 'closed period: ' || reading_text || ' only; ' || after_reading_text
                    || ' are unknown, not counted'
            when projection_basis = 'trailing_window'
                then 'daily rate of the last ' || rate_days_observed || ' complete days'
            when projection_basis = 'previous_period'
                then 'daily rate of the previous period (' || rate_days_observed || ' days)'
            else 'daily rate of the period so far (' || rate_days_observed || ' days)'
        end)::text as projection_note,
        projected_credits_used::bigint as projected_credits_used,
        round({{ safe_divide('projected_credits_used', 'credits_total') }} * 100, 2)
            as projected_used_pct,
        (case
            when credits_total > 0 then greatest(projected_credits_used - credits_total, 0)
        end)::bigint as projected_overage_emails,
        round(
            (case
                when credits_total > 0
                    then greatest(projected_credits_used - credits_total, 0)
            end)::numeric / 1000 * overage_usd_per_1k,
            2
        )::numeric(12, 2) as projected_overage_cost_usd,
        (case
            when credits_remain <= 0 then 0
            when daily_rate > 0 then floor(credits_remain / daily_rate)
        end)::integer as days_until_exhausted,
        (case
            when
                not is_period_closed
                and credits_remain > 0
                and daily_rate > 0
                -- runs out before the period's last day ends
                and credits_remain / daily_rate < period_days - days_elapsed
                then {{ sendgrid_as_of_date() }} + ceil(credits_remain / daily_rate)::integer
        end)::date as projected_exhaustion_date,
        (case
            when credits_total is null or credits_total <= 0 then 'unknown'
            when credits_overage > 0 or credits_used > credits_total then 'overage'
            when not is_period_closed and rate_days_observed < {{ min_days }}
                then 'insufficient_data'
            when projected_credits_used > credits_total then 'at_risk'
            when
                projected_credits_used
                < {{ var('sendgrid_under_used_below') }} * credits_total
                then 'under_used'
            else 'healthy'
        end)::text as utilization_status,
        observed_at::timestamptz as observed_at,
        {{ sendgrid_as_of() }} as as_of_at,
        period_plan_code::text as period_plan_code,
        period_plan_basis::text as period_plan_basis
    from projected

)

select * from final
