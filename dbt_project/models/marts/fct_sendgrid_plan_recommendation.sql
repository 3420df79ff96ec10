{#-
    One row per tenant: the cheapest catalog plan that covers the tenant's volume with
    headroom and what it already uses, and what changing to it costs per month.

    Volume = emails requested by the parent and its subusers per calendar month, over the
    last `sendgrid_recommendation_months` complete months (through the as-of day, the last
    complete day); a tenant without a complete month uses its open month to date
    extrapolated to 30 days. Needed
    volume = max(peak month, p95 month x (1 + `sendgrid_plan_headroom`)). A plan covers the
    tenant when its monthly emails (null = custom, Premier) reach the needed volume, its daily
    limit (Free: 100 a day) holds the busiest day of the window (the complete months and the
    open month to date), its teammate limit holds the seats in use, it includes enough
    subusers for the enabled ones and has subusers at all when the tenant has any (disabled
    ones too: a plan without subusers cannot keep them), it includes a dedicated IP when the
    tenant has one, and Email Address Validation when the tenant uses it (a bulk validation
    job started in the window; Pro and Premier only). Cheapest = lowest list price,
    Premier (custom price) last. Seats, subusers or dedicated IPs whose stream is not readable
    are unknown (null), never 0: the plan must then hold what the current plan holds (its
    teammate limit, its included subusers, its dedicated IP), so an unknown never sizes a
    tenant down; the text says so. Validation counts only when its jobs were read (a Full
    Access key never carries validations.email.read, so it is unknown for most tenants).

    Money, with a clear sign: the current plan costs its price (contract override, else list
    price) plus the overage a p95 month would cost on it (the plan's overage rate); the
    recommended plan covers the volume, so it costs its list price.
    `monthly_cost_change_usd` = recommended - current: positive = the change costs more.
    A tenant without data (sync state failed / never_synced) gets no recommendation.
    Neither does a tenant whose volume is not readable (int_sendgrid__volume_readability,
    e.g. the key lacks stats.read, or subusers.read on a plan with subusers): its volumes, the
    overage and the current monthly cost are null (unknown, never 0) and the recommendation
    is no_data with the reason in its text; a tenant read that sent nothing has volumes of 0
    and is sized on them.
    A subuser of another connected tenant (int_sendgrid__account_identities) is on its
    parent's plan: no recommendation of its own (no_data, the parent named in the text).
    Nor a second connection to an account already connected under another id (no_data, the
    first connection named: the account gets one recommendation, there), nor a deleted
    connection (`is_removed`: no_data).
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

connection_health as (

    select * from {{ ref('fct_sendgrid_connection_health') }}

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

account_identities as (

    select * from {{ ref('int_sendgrid__account_identities') }}

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
        coalesce(connection_health.has_data, false) as has_data,
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
    left join connection_health on tenant_plans.tenant_id = connection_health.tenant_id
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

    select
        sized.tenant_id,
        plan_catalog.plan_code,
        plan_catalog.plan_name,
        plan_catalog.tier_rank,
        plan_catalog.monthly_emails,
        plan_catalog.monthly_price_usd,
        row_number() over (
            partition by sized.tenant_id
            order by plan_catalog.monthly_price_usd asc nulls last, plan_catalog.tier_rank asc
        ) as price_rank
    from sized
    inner join plan_catalog
        on
            coalesce(plan_catalog.monthly_emails, sized.required_monthly_emails)
            >= sized.required_monthly_emails
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

compared as (

    select
        sized.*,
        account_identities.subuser_of_tenant_id,
        account_identities.duplicate_of_tenant_id,
        coalesce(account_identities.is_removed, false) as is_removed,
        -- another tenant counts the account (or none, removed): no recommendation of its own
        (
            account_identities.subuser_of_tenant_id is not null
            or account_identities.duplicate_of_tenant_id is not null
            or coalesce(account_identities.is_removed, false)
        ) as is_counted_elsewhere,
        case when sized.has_data then candidates.plan_code end as recommended_plan_code,
        case when sized.has_data then candidates.plan_name end as recommended_plan_name,
        case when sized.has_data then candidates.tier_rank end as recommended_tier_rank,
        case when sized.has_data then candidates.monthly_price_usd end
            as recommended_monthly_price_usd,
        case
            when sized.is_volume_readable
                then sized.current_monthly_price_usd + coalesce(sized.current_overage_usd, 0)
        end as current_monthly_cost_usd
    from sized
    -- an unknown volume sizes no plan: the tenant is kept without a candidate
    left join candidates
        on sized.tenant_id = candidates.tenant_id and candidates.price_rank = 1
    left join account_identities on sized.tenant_id = account_identities.tenant_id
    where candidates.tenant_id is not null or not sized.is_volume_readable

),

decided as (

    select
        *,
        case
            when not has_data or not is_volume_readable or is_counted_elsewhere then 'no_data'
            when current_plan_code is null then 'unknown'
            when recommended_plan_code = current_plan_code then 'keep'
            when recommended_tier_rank < current_tier_rank then 'downgrade'
            else 'upgrade'
        end as recommendation,
        case
            when
                not has_data or not is_volume_readable or recommended_plan_code is null
                or is_counted_elsewhere
                then null
            when recommended_plan_code = current_plan_code then 0
            else recommended_monthly_price_usd - current_monthly_cost_usd
        end as monthly_cost_change_usd,
        -- what the sizing could not read (array_to_string skips the nulls)
        array_to_string(array[
            case when seats_used is null then 'seats' end,
            case when enabled_subuser_count is null then 'subusers' end,
            case when dedicated_ip_count is null then 'dedicated IPs' end
        ], ', ') as unknown_inputs
    from compared

),

final as (

    select
        tenant_id::text as tenant_id,
        current_plan_code::text as current_plan_code,
        current_monthly_price_usd::numeric(12, 2) as current_monthly_price_usd,
        coalesce(is_contract_price, false)::boolean as is_contract_price,
        current_overage_usd::numeric(12, 2) as current_monthly_overage_usd,
        current_monthly_cost_usd::numeric(12, 2) as current_monthly_cost_usd,
        months_observed::integer as months_observed,
        peak_monthly_requests::bigint as peak_monthly_requests,
        p95_monthly_requests::bigint as p95_monthly_requests,
        required_monthly_emails::bigint as required_monthly_emails,
        seats_used::integer as seats_used,
        enabled_subuser_count::integer as enabled_subusers,
        subuser_count::integer as subusers,
        dedicated_ip_count::integer as dedicated_ips,
        peak_daily_requests::bigint as peak_daily_requests,
        uses_email_validation::boolean as uses_email_validation,
        (case when recommendation <> 'no_data' then recommended_plan_code end)::text
            as recommended_plan_code,
        (case when recommendation <> 'no_data' then recommended_plan_name end)::text
            as recommended_plan_name,
        (
            case when recommendation <> 'no_data' then recommended_monthly_price_usd end
        )::numeric(12, 2) as recommended_monthly_price_usd,
        monthly_cost_change_usd::numeric(12, 2) as monthly_cost_change_usd,
        recommendation::text as recommendation,
        (case
            when is_removed
                then 'no recommendation: the connection was removed'
            when recommendation = 'no_data' and not has_data
                then 'no recommendation until the first successful sync'
            when duplicate_of_tenant_id is not null
                then 'no recommendation: another connection to the account of '
                    || duplicate_of_tenant_id || ' (see its recommendation)'
            when subuser_of_tenant_id is not null
                then 'no recommendation: a subuser of ' || subuser_of_tenant_id
                    || ', on its plan (see its recommendation)'
            when recommendation = 'no_data'
                then 'no recommendation: insufficient data, the email volume is not readable ('
                    || volume_unreadable_reason || ')'
            when recommendation = 'keep' then 'keep current plan'
            when recommended_monthly_price_usd is null
                then recommendation || ' to ' || recommended_plan_name
                    || ': custom price, ask SendGrid for a quote'
            when recommendation = 'unknown'
                then 'current plan unknown: ' || recommended_plan_name || ' at '
                    || {{ sendgrid_format_usd('recommended_monthly_price_usd') }}
                    || '/month covers the volume'
            when monthly_cost_change_usd is null
                then recommendation || ' to ' || recommended_plan_name
            when monthly_cost_change_usd > 0
                then recommendation || ' to ' || recommended_plan_name || ': +'
                    || {{ sendgrid_format_usd('monthly_cost_change_usd') }} || '/month'
            when monthly_cost_change_usd < 0
                then recommendation || ' to ' || recommended_plan_name || ': saves '
                    || {{ sendgrid_format_usd('-monthly_cost_change_usd') }} || '/month'
            else recommendation || ' to ' || recommended_plan_name || ': same cost'
        end
        || case
            when recommendation = 'no_data' or unknown_inputs = '' then ''
            else
                ' (' || unknown_inputs || ' not readable: '
                || case
                    when current_plan_code is null then 'not counted'
                    else 'sized to hold the current plan''s'
                end || ')'
        end)::text as recommendation_text,
        {{ sendgrid_as_of() }} as as_of_at
    from decided

)

select * from final
