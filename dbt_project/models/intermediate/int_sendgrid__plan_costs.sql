{#-
    One row per tenant: what its plan must hold and what the catalog plans cost it per month;
    fct_sendgrid_plan_recommendation decides and words the recommendation from it.

    Volume = emails requested by the parent and its subusers per calendar month, over the
    last `sendgrid_recommendation_months` complete months (through the as-of day, the last
    complete day); a tenant without a complete month uses its open month to date
    extrapolated to 30 days. Needed volume (`required_monthly_emails`) = max(peak month,
    p95 month x (1 + `sendgrid_plan_headroom`)).

    A plan holds the tenant when its daily limit (Free: 100 a day) holds the busiest day of
    the window (the complete months and the open month to date), its teammate limit holds the
    seats in use, it includes enough subusers for the enabled ones and has subusers at all
    when the tenant has any (disabled ones too: a plan without subusers cannot keep them), it
    includes a dedicated IP when the tenant has one, and Email Address Validation when the
    tenant uses it (a bulk validation job started in the window; Pro and Premier only).
    Seats, subusers or dedicated IPs whose stream is not readable are unknown (null), never
    0: the plan must then hold what the current plan holds (its teammate limit, its included
    subusers, its dedicated IP), so an unknown never sizes a tenant down. Validation counts
    only when its jobs were read (a Full Access key never carries validations.email.read).

    Volume and money: a plan's expected monthly cost = its price (the current plan: its
    contract price and emails when a contract sets them) + the overage a p95 month would
    cost on it, greatest(p95 - monthly emails, 0) / 1000 x its overage rate. A plan with an
    overage rate (Essentials, Pro) need not cover any volume: SendGrid bills the excess, so
    too small a plan is a cost, priced by its overage, not a limit (a floor such as the peak
    month would keep a tenant on a dearer plan than the one its p95 month pays least on). A
    plan without one is a hard cap (Free) and must cover the needed volume with headroom;
    Premier (custom volume and price) covers any volume. The recommended plan is the one of
    least expected cost, Premier without a known price (no contract) last; on a tie the
    current plan wins (a change at no saving is noise), then the plan that covers the needed
    volume (less overage risk), then the lower tier. The covering plan (the cheapest that
    covers the needed volume) is what paying overage is weighed against, so that needs its
    price: when no covering plan has a known price (only Premier without a contract covers),
    a plan paying overage cannot be shown to cost less and the pick is made among the
    covering plans (Premier: a quote), never "paying overage costs less than Premier".
    The recommended price is what the tenant would pay: the current plan's contract price
    when the pick is the current plan, else the list price.
    A tenant whose volume is not readable (int_sendgrid__volume_readability) has null
    volumes, overage and current monthly cost (unknown, never 0) and no plan; a tenant read
    that sent nothing has volumes of 0 and is sized on them.
-#}
{%- set unlimited = 2147483647 %}  {#- subusers_included null: no limit #}
{#- The first month not complete by the end of the as-of day. #}
{%- set open_month = "date_trunc('month', " ~ sendgrid_as_of_date() ~ " + 1)::date" %}
with

tenant_plans as (

    select * from {{ ref('int_sendgrid__tenant_plans') }}

),

requests_monthly as (

    select * from {{ ref('int_sendgrid__tenant_requests_monthly') }}

),

feature_usage as (

    select * from {{ ref('int_sendgrid__feature_usage') }}

),

volume_readability as (

    select * from {{ ref('int_sendgrid__volume_readability') }}

),

ips_readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}
    where stream_name = 'ips'

),

plan_catalog as (

    select * from {{ ref('sendgrid_plan_catalog') }}

),

complete_months as (

    select *
    from requests_monthly
    where
        activity_month < {{ open_month }}
        and activity_month >= (
            {{ open_month }} - interval '{{ var("sendgrid_recommendation_months") }} months'
        )::date

),

current_months as (

    select
        tenant_id,
        round(
            requests::numeric * 30
            / greatest(extract(day from {{ sendgrid_as_of_date() }}), 1)
        ) as extrapolated_requests
    from requests_monthly
    where
        activity_month = date_trunc('month', {{ sendgrid_as_of_date() }})::date
        and activity_month = {{ open_month }}

),

volume as (

    select
        tenant_id,
        count(*) as months_observed,
        max(requests) as peak_monthly_requests,
        ceil(percentile_cont(0.95) within group (order by requests)) as p95_monthly_requests
    from complete_months
    group by 1

),

dedicated_ips as (

    select
        tenant_id,
        usage_count as dedicated_ip_count
    from feature_usage
    where feature_code = 'dedicated_ips'

),

validation_jobs as (

    -- bulk validation in use: a job started in the window (the complete months and the open
    -- month to date, never after the as-of); one job years ago does not pin a plan
    select
        tenant_id,
        usage_count as validation_job_count
    from feature_usage
    where
        feature_code = 'email_validation'
        -- the window's first UTC midnight (a date less an interval is a timestamp without a
        -- zone, which a comparison with a timestamptz reads in the session's TimeZone)
        and last_activity_at >= (
            {{ open_month }} - interval '{{ var("sendgrid_recommendation_months") }} months'
        ) at time zone 'UTC'

),

daily_peaks as (

    -- the busiest day of the window: the complete months and the open month to date
    select
        tenant_id,
        max(peak_daily_requests) as peak_daily_requests
    from requests_monthly
    where
        activity_month >= (
            {{ open_month }} - interval '{{ var("sendgrid_recommendation_months") }} months'
        )::date
    group by 1

),

needs as (

    select
        tenant_plans.tenant_id,
        tenant_plans.plan_code as current_plan_code,
        tenant_plans.plan_name as current_plan_name,
        tenant_plans.tier_rank as current_tier_rank,
        tenant_plans.current_monthly_price_usd,
        tenant_plans.is_contract_price,
        tenant_plans.plan_monthly_emails as current_monthly_emails,
        tenant_plans.overage_usd_per_1k as current_overage_usd_per_1k,
        tenant_plans.seats_used,
        tenant_plans.enabled_subuser_count,
        tenant_plans.subuser_count,
        coalesce(validation_jobs.validation_job_count, 0) > 0 as uses_email_validation,
        tenant_plans.teammate_limit as current_teammate_limit,
        -- null on the current plan: no limit (subusers), custom (Premier's dedicated IPs)
        coalesce(tenant_plans.subusers_included, {{ unlimited }}) as current_subusers_included,
        coalesce(tenant_plans.dedicated_ips_included, 1) as current_dedicated_ips_included,
        coalesce(volume_readability.is_readable, false) as is_volume_readable,
        volume_readability.unreadable_reason as volume_unreadable_reason,
        case
            when ips_readability.is_readable then coalesce(dedicated_ips.dedicated_ip_count, 0)
        end as dedicated_ip_count,
        case when volume_readability.is_readable then coalesce(volume.months_observed, 0) end
            as months_observed,
        case
            when volume_readability.is_readable
                then coalesce(volume.peak_monthly_requests, current_months.extrapolated_requests, 0)
        end as peak_monthly_requests,
        case
            when volume_readability.is_readable
                then coalesce(volume.p95_monthly_requests, current_months.extrapolated_requests, 0)
        end as p95_monthly_requests,
        case
            when volume_readability.is_readable then coalesce(daily_peaks.peak_daily_requests, 0)
        end as peak_daily_requests
    from tenant_plans
    left join volume on tenant_plans.tenant_id = volume.tenant_id
    left join current_months on tenant_plans.tenant_id = current_months.tenant_id
    left join dedicated_ips on tenant_plans.tenant_id = dedicated_ips.tenant_id
    left join validation_jobs on tenant_plans.tenant_id = validation_jobs.tenant_id
    left join daily_peaks on tenant_plans.tenant_id = daily_peaks.tenant_id
    left join ips_readability on tenant_plans.tenant_id = ips_readability.tenant_id
    left join volume_readability on tenant_plans.tenant_id = volume_readability.tenant_id

),

sized as (

    select
        *,
        -- an unknown count needs what the current plan holds (no current plan: 0)
        {%- for count, allowance in [
            ('seats_used', 'current_teammate_limit'),
            ('enabled_subuser_count', 'current_subusers_included'),
            ('subuser_count', 'current_subusers_included'),
            ('dedicated_ip_count', 'current_dedicated_ips_included'),
        ] %}
            coalesce(
                {{ count }}, case when current_plan_code is not null then {{ allowance }} end, 0
            ) as {{ count }}_needed,
        {%- endfor %}
        ceil(greatest(
            peak_monthly_requests,
            p95_monthly_requests * (1 + {{ var('sendgrid_plan_headroom') }})
        )) as required_monthly_emails,
        -- greatest() skips nulls: an unknown p95 month must not cost 0 overage
        case
            when is_volume_readable
                then round(
                        greatest(p95_monthly_requests - current_monthly_emails, 0)::numeric / 1000
                        * current_overage_usd_per_1k,
                        2
                    )
        end as current_overage_usd
    from needs

),

candidates as (

    -- the plans that hold what the tenant uses; the current plan at its contract price and
    -- emails when a contract sets them
    select
        sized.tenant_id,
        sized.current_plan_code,
        sized.p95_monthly_requests,
        plan_catalog.plan_code,
        plan_catalog.plan_name,
        plan_catalog.tier_rank,
        plan_catalog.monthly_price_usd,
        plan_catalog.overage_usd_per_1k,
        coalesce(plan_catalog.monthly_emails, sized.required_monthly_emails)
        >= sized.required_monthly_emails as covers_required,
        case
            when plan_catalog.plan_code = sized.current_plan_code
                then sized.current_monthly_price_usd
            else plan_catalog.monthly_price_usd
        end as price_usd,
        case
            when plan_catalog.plan_code = sized.current_plan_code
                then sized.current_monthly_emails
            else plan_catalog.monthly_emails
        end as monthly_emails
    from sized
    inner join plan_catalog
        on
            sized.required_monthly_emails is not null
            -- a plan without an overage rate (Free) is a hard cap: it must cover the volume
            and (
                plan_catalog.overage_usd_per_1k is not null
                or coalesce(plan_catalog.monthly_emails, sized.required_monthly_emails)
                >= sized.required_monthly_emails
            )
            and sized.seats_used_needed <= plan_catalog.teammate_limit
            and coalesce(plan_catalog.daily_emails, sized.peak_daily_requests)
            >= sized.peak_daily_requests
            and coalesce(plan_catalog.subusers_included, {{ unlimited }})
            >= sized.enabled_subuser_count_needed
            -- a plan without subusers cannot keep any, enabled or not
            and (
                sized.subuser_count_needed = 0
                or coalesce(plan_catalog.subusers_included, {{ unlimited }}) > 0
            )
            and (
                sized.dedicated_ip_count_needed = 0
                or coalesce(plan_catalog.dedicated_ips_included, 1) >= 1
            )
            and (not sized.uses_email_validation or plan_catalog.includes_email_validation)

),

priced as (

    -- expected monthly cost = price + the overage a p95 month would cost on the plan (none
    -- without an overage rate: a hard cap covers the volume, Premier's is per contract)
    select
        *,
        round(
            greatest(p95_monthly_requests - monthly_emails, 0)::numeric / 1000
            * coalesce(overage_usd_per_1k, 0),
            2
        ) as expected_overage_usd
    from candidates

),

weighed as (

    -- whether a plan covers the needed volume at all, and one at a known price: without it
    -- (only Premier, no contract) what a plan paying overage saves is unknown
    select
        *,
        bool_or(covers_required) over (partition by tenant_id) as has_cover,
        coalesce(
            bool_or(covers_required and price_usd is not null) over (partition by tenant_id),
            false
        ) as has_priced_cover
    from priced

),

ranked as (

    select
        *,
        -- cheapest expected cost, Premier (custom price) last; paying overage only when a
        -- covering plan of known price shows it costs less; a tie goes to the current plan
        -- (no change at no saving), then to the plan that covers the volume with headroom
        -- (less overage risk), then to the lower tier
        row_number() over (
            partition by tenant_id
            order by
                (covers_required or has_priced_cover or not has_cover) desc,
                price_usd + expected_overage_usd asc nulls last,
                (plan_code = current_plan_code) desc,
                covers_required desc,
                tier_rank asc
        ) as cost_rank,
        -- the cheapest plan that covers the volume with headroom: what overage is weighed against
        row_number() over (
            partition by tenant_id
            order by
                covers_required desc, price_usd + expected_overage_usd asc nulls last, tier_rank asc
        ) as covering_rank
    from weighed

),

final as (

    select
        sized.*,
        -- the plan of least expected cost: the price paid on it (the current plan: its contract
        -- price when one is set, else the list price) and the overage a p95 month costs
        picked.plan_code as recommended_plan_code,
        picked.plan_name as recommended_plan_name,
        picked.tier_rank as recommended_tier_rank,
        picked.price_usd as recommended_monthly_price_usd,
        -- null with the price (Premier without a contract: custom)
        case
            when picked.price_usd is not null then picked.expected_overage_usd
        end as recommended_overage_usd,
        covering.plan_code as covering_plan_code,
        covering.plan_name as covering_plan_name,
        -- null: Premier without a contract (no plan paying overage is then shown cheaper)
        covering.price_usd as covering_monthly_price_usd,
        case
            when sized.is_volume_readable
                then sized.current_monthly_price_usd + coalesce(sized.current_overage_usd, 0)
        end as current_monthly_cost_usd
    from sized
    -- an unknown volume sizes no plan: the tenant is kept without a candidate
    left join ranked as picked
        on sized.tenant_id = picked.tenant_id and picked.cost_rank = 1
    left join ranked as covering
        on
            sized.tenant_id = covering.tenant_id
            and covering.covering_rank = 1
            and covering.covers_required
    where picked.tenant_id is not null or not sized.is_volume_readable

)

select * from final
