{#-
    Current state of every tenant and the plan it is (most likely) on. SendGrid exposes no
    plan name to ordinary accounts (docs/api-notes.md §4.1), so the plan is inferred, in this order:
      1. a contract row in the `sendgrid_tenant_contracts` seed;
      2. account type `free` or credits resetting daily -> Free;
      3. the catalog tier whose monthly emails equal the credits total; when Essentials and
         Pro tie (100K) a Pro-only signal decides (subusers or dedicated IPs licensed, or
         more than one teammate);
      4. credits above every priced tier -> Premier; otherwise the nearest tier above.
    Seats in use and subuser counts are null (unknown, never 0) when the teammates or
    subusers stream is not readable (int_sendgrid__stream_readability, e.g. a key without
    teammates.read); 0 when it was read and is empty or not licensed.
-#}
with

tenants as (

    select * from {{ ref('stg_sendgrid__tenants') }}

),

accounts as (

    select * from {{ ref('stg_sendgrid__accounts') }}

),

credits as (

    select * from {{ ref('stg_sendgrid__credits') }}

),

teammates as (

    select * from {{ ref('stg_sendgrid__teammates') }}

),

subusers as (

    select * from {{ ref('stg_sendgrid__subusers') }}

),

stream_statuses as (

    select * from {{ ref('stg_sendgrid__stream_statuses') }}

),

ips as (

    select * from {{ ref('stg_sendgrid__ips') }}

),

plan_catalog as (

    select * from {{ ref('sendgrid_plan_catalog') }}

),

contracts as (

    select * from {{ ref('sendgrid_tenant_contracts') }}

),

current_accounts as (

    select distinct on (tenant_id)
        tenant_id,
        account_type,
        reputation
    from accounts
    where subuser = '' and is_current and not is_deleted
    order by tenant_id asc, last_seen_at desc

),

current_credits as (

    select distinct on (tenant_id)
        tenant_id,
        credits_total,
        credits_used,
        credits_remain,
        credits_overage,
        reset_frequency
    from credits
    where subuser = '' and is_current and not is_deleted
    order by tenant_id asc, last_seen_at desc

),

seat_counts as (

    select
        tenant_id,
        count(*) filter (where user_type <> 'owner')::integer as seats_used
    from teammates
    where subuser = '' and is_current and not is_deleted
    group by tenant_id

),

seat_readability as (

    select
        tenant_id,
        bool_or(is_readable) filter (where stream_name = 'teammates') as is_teammates_readable,
        bool_or(is_readable) filter (where stream_name = 'subusers') as is_subusers_readable
    from {{ ref('int_sendgrid__stream_readability') }}
    where stream_name in ('teammates', 'subusers')
    group by tenant_id

),

subuser_counts as (

    select
        tenant_id,
        count(*)::integer as subuser_count,
        count(*) filter (where not is_disabled)::integer as enabled_subuser_count
    from subusers
    where is_current and not is_deleted
    group by tenant_id

),

pro_signals as (

    -- Pro-only features: subusers or email validation licensed, or a dedicated IP in use
    select
        tenant_id,
        bool_or(
            stream_name in ('subusers', 'validation_jobs') and status = 'ok'
        ) as has_pro_feature
    from stream_statuses
    group by tenant_id

    union all

    select
        tenant_id,
        true as has_pro_feature
    from ips
    where subuser = '' and is_current and not is_deleted
    group by tenant_id

),

tenant_pro_signals as (

    select
        tenant_id,
        bool_or(has_pro_feature) as has_pro_feature
    from pro_signals
    group by tenant_id

),

tenant_facts as (

    select
        tenants.tenant_id,
        tenants.display_name,
        tenants.region,
        current_accounts.account_type,
        current_accounts.reputation,
        current_credits.credits_total,
        current_credits.credits_used,
        current_credits.credits_remain,
        current_credits.credits_overage,
        current_credits.reset_frequency,
        case
            when seat_readability.is_teammates_readable then coalesce(seat_counts.seats_used, 0)
        end as seats_used,
        case
            when seat_readability.is_subusers_readable
                then coalesce(subuser_counts.subuser_count, 0)
        end as subuser_count,
        case
            when seat_readability.is_subusers_readable
                then coalesce(subuser_counts.enabled_subuser_count, 0)
        end as enabled_subuser_count,
        coalesce(tenant_pro_signals.has_pro_feature, false)
        or coalesce(seat_counts.seats_used, 0) > 1
        or coalesce(subuser_counts.subuser_count, 0) > 0 as has_pro_signal,
        contracts.plan_code as contract_plan_code,
        contracts.monthly_price_usd as contract_price_usd,
        contracts.monthly_emails as contract_monthly_emails
    from tenants
    left join current_accounts on tenants.tenant_id = current_accounts.tenant_id
    left join current_credits on tenants.tenant_id = current_credits.tenant_id
    left join seat_counts on tenants.tenant_id = seat_counts.tenant_id
    left join subuser_counts on tenants.tenant_id = subuser_counts.tenant_id
    left join seat_readability on tenants.tenant_id = seat_readability.tenant_id
    left join tenant_pro_signals on tenants.tenant_id = tenant_pro_signals.tenant_id
    left join contracts on tenants.tenant_id = contracts.tenant_id

),

matched as (

    select
        tenant_facts.tenant_id,
        (
            select plan_catalog.plan_code
            from plan_catalog
            where plan_catalog.monthly_emails = tenant_facts.credits_total
            order by
                (plan_catalog.plan_family = 'pro') = tenant_facts.has_pro_signal desc,
                plan_catalog.tier_rank asc
            limit 1
        ) as exact_plan_code,
        (
            select plan_catalog.plan_code
            from plan_catalog
            where
                plan_catalog.monthly_emails > tenant_facts.credits_total
                and plan_catalog.plan_family <> 'free'
                and (not tenant_facts.has_pro_signal or plan_catalog.plan_family = 'pro')
            order by plan_catalog.tier_rank asc
            limit 1
        ) as next_plan_code
    from tenant_facts

),

inferred as (

    select
        tenant_facts.*,
        case
            when tenant_facts.contract_plan_code is not null
                then tenant_facts.contract_plan_code
            when
                tenant_facts.account_type = 'free'
                or tenant_facts.reset_frequency = 'daily'
                then 'free'
            when matched.exact_plan_code is not null then matched.exact_plan_code
            when tenant_facts.credits_total is null then null
            when matched.next_plan_code is not null then matched.next_plan_code
            else 'premier'
        end as plan_code,
        case
            when tenant_facts.contract_plan_code is not null then 'contract'
            when
                tenant_facts.account_type = 'free'
                or tenant_facts.reset_frequency = 'daily'
                then 'free account'
            when matched.exact_plan_code is not null then 'credits match a tier'
            when tenant_facts.credits_total is null then 'unknown'
            when matched.next_plan_code is not null then 'nearest tier above credits'
            else 'credits above priced tiers'
        end as plan_inference_basis
    from tenant_facts
    inner join matched on tenant_facts.tenant_id = matched.tenant_id

),

final as (

    select
        inferred.*,
        plan_catalog.plan_name,
        plan_catalog.plan_family,
        plan_catalog.tier_rank,
        plan_catalog.teammate_limit,
        plan_catalog.subusers_included,
        plan_catalog.dedicated_ips_included,
        plan_catalog.overage_usd_per_1k,
        coalesce(inferred.contract_monthly_emails, plan_catalog.monthly_emails)
            as plan_monthly_emails,
        coalesce(inferred.contract_price_usd, plan_catalog.monthly_price_usd)
            as current_monthly_price_usd,
        inferred.contract_price_usd is not null as is_contract_price
    from inferred
    left join plan_catalog on inferred.plan_code = plan_catalog.plan_code

)

select * from final
