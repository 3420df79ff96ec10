{#-
    One row per tenant: the catalog plan of least expected monthly cost that holds what the
    tenant uses, and what changing to it costs per month. The sizing and the prices are
    int_sendgrid__plan_costs' (see its header); in short:

    Needed volume = max(peak month, p95 month x (1 + `sendgrid_plan_headroom`)) over the
    last `sendgrid_recommendation_months` complete months. A plan's expected monthly cost =
    its price (the current plan: its contract price) + the overage a p95 month would cost on
    it (greatest(p95 - monthly emails, 0) / 1000 x its overage rate). A plan with an overage
    rate (Essentials, Pro) need not cover any volume: the excess is billed, so it is priced,
    not excluded. A plan without one (Free) is a hard cap: it must cover the needed volume
    with headroom, and its daily limit the busiest day. Premier (custom price) comes last.
    On a tie the current plan wins (a change at no saving is noise), then the plan covering
    the needed volume (less overage risk), then the lower tier. Seats, subusers, dedicated IPs
    and Email Address Validation must fit as before; an unknown (unreadable) seat, subuser or
    dedicated-IP count never sizes a tenant down: the text says so. (Validation jobs that were
    not read count as not used: their scope, validations.email.read, is one a Full Access key
    lacks; see int_sendgrid__plan_costs.)

    Money, with a clear sign: the current plan costs its price (contract override, else list
    price) plus the overage a p95 month would cost on it; the recommended plan costs its price
    (a kept plan's contract price, else its list price) plus its expected overage (`recommended_monthly_overage_usd`).
    `monthly_cost_change_usd` = recommended - current: positive = the change costs more. When
    the recommended plan pays overage, the text says so and names the cheapest plan covering
    the needed volume it costs less than ("keep current plan: paying the overage (~$5.00/month)
    costs less than Pro 300K"), only when that plan's price is known: against Premier without
    a contract (custom price) nothing is claimed cheaper ("...; compare with a Premier quote";
    int_sendgrid__plan_costs then picks among the covering plans, so a tenant on Premier is
    never told to downgrade to a plan paying overage on an unknown comparison). The
    recommended price is the one paid: a kept plan's contract price, else the list price.
    A tenant on Premier without a contract price whose volume fits a priced plan is still
    told to downgrade to it (that plan's expected cost is known), but what that saves is
    unknown: monthly_cost_change_usd is null and the text says why ("downgrade to Pro 1.5M
    at $799.00/month: saving unknown, the price paid for Premier is not known without a
    contract price in sendgrid_tenant_contracts"); rpt_sendgrid_portfolio counts it apart
    from the known savings (downgrade_savings_unknown_count), never as an unknown total.
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
{#- what paying overage is weighed against: the cheapest plan covering the needed volume, and
    only at a known price (Premier without a contract: no claim, compare with a quote) #}
{%- set cheaper_than =
    "case when covering_monthly_price_usd is not null"
    " then coalesce(' costs less than ' || nullif(covering_plan_name, recommended_plan_name), '')"
    " else coalesce('; compare with a ' || covering_plan_name || ' quote', '') end" %}
with

plan_costs as (

    select * from {{ ref('int_sendgrid__plan_costs') }}

),

connection_health as (

    select * from {{ ref('fct_sendgrid_connection_health') }}

),

account_identities as (

    select * from {{ ref('int_sendgrid__account_identities') }}

),

compared as (

    select
        plan_costs.*,
        coalesce(connection_health.has_data, false) as has_data,
        account_identities.subuser_of_tenant_id,
        account_identities.duplicate_of_tenant_id,
        coalesce(account_identities.is_removed, false) as is_removed,
        -- another tenant counts the account (or none, removed): no recommendation of its own
        (
            account_identities.subuser_of_tenant_id is not null
            or account_identities.duplicate_of_tenant_id is not null
            or coalesce(account_identities.is_removed, false)
        ) as is_counted_elsewhere
    from plan_costs
    left join connection_health on plan_costs.tenant_id = connection_health.tenant_id
    left join account_identities on plan_costs.tenant_id = account_identities.tenant_id

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
            else recommended_monthly_price_usd + recommended_overage_usd
                - current_monthly_cost_usd
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
        (
            case when recommendation <> 'no_data' then recommended_overage_usd end
        )::numeric(12, 2) as recommended_monthly_overage_usd,
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
            when recommendation = 'keep' and recommended_overage_usd > 0
                then 'keep current plan: paying the overage (~'
                    || {{ sendgrid_format_usd('recommended_overage_usd') }} || '/month)'
                    || {{ cheaper_than }}
            when recommendation = 'keep' then 'keep current plan'
            when recommended_monthly_price_usd is null
                then recommendation || ' to ' || recommended_plan_name
                    || ': custom price, ask SendGrid for a quote'
            when recommendation = 'unknown'
                then 'current plan unknown: ' || recommended_plan_name || ' at '
                    || {{ sendgrid_format_usd('recommended_monthly_price_usd') }} || '/month'
                    || case
                        when recommended_overage_usd > 0
                            then ' plus ~' || {{ sendgrid_format_usd('recommended_overage_usd') }}
                                || '/month overage' || {{ cheaper_than }}
                        else ' covers the volume'
                    end
            -- the current plan's price is unknown (Premier without a contract price): the
            -- change stands, its saving is unknown, and the text says why
            when current_monthly_price_usd is null
                then recommendation || ' to ' || recommended_plan_name || ' at '
                    || {{ sendgrid_format_usd('recommended_monthly_price_usd') }} || '/month: '
                    || case when recommendation = 'downgrade' then 'saving' else 'cost change' end
                    || ' unknown, the price paid for ' || coalesce(current_plan_name, 'the plan')
                    || ' is not known without a contract price in sendgrid_tenant_contracts'
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
            when recommended_overage_usd > 0 and recommendation in ('upgrade', 'downgrade')
                then ' (paying ~' || {{ sendgrid_format_usd('recommended_overage_usd') }}
                    || '/month overage' || {{ cheaper_than }} || ')'
            else ''
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
