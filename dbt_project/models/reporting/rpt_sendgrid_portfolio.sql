{#-
    Dashboard: the header's KPI tiles (one row): organizations by connection and sync state,
    the emails of the 30 days ending on the as-of day (summed over the tenants whose volume is
    known, and how many those are: an unknown is not a 0), credit overage now and projected
    (and how many tenants' credits are unknown: they are neither over nor at risk),
    features used of licensed, what the recommended downgrades save and the upgrades cost
    per month and what following all recommendations changes (net), and the latest successful
    sync.

    Plan changes sum the KNOWN amounts and count the others: a change whose cost is unknown
    (a downgrade from Premier without a contract price, an upgrade to Premier: a quote) is
    left out of downgrade_savings_usd / upgrade_cost_usd / net_plan_change_usd and counted in
    downgrade_savings_unknown_count / upgrade_cost_unknown_count, so one unpriced tenant no
    longer makes the whole portfolio's figure unknown. A total is null only when changes of
    its kind exist and none is known. (The projected overage stays all or nothing: a period
    over plan is a cost the tenant will pay, and a partial sum would understate it.)

    Connection states count connections (tenants); every other figure counts SendGrid accounts
    once (`is_counted_in_totals`): a connection that reaches an account already connected under
    another id, or a subuser of another connected tenant (whose figures include it), is left
    out of them. Deleted connections are not in the overview; `removed_connection_count` says
    how many the warehouse keeps.
-#}
with

overview as (

    select * from {{ ref('rpt_sendgrid_utilization_overview') }}

),

as_of as (

    select {{ sendgrid_as_of() }} as as_of_at

),

connections as (

    select
        count(*) as tenant_count,
        count(*) filter (where duplicate_of_tenant_id is not null) as duplicate_connection_count,
        count(*) filter (
            where subuser_of_tenant_id is not null and duplicate_of_tenant_id is null
        ) as subuser_connection_count,
        count(*) filter (where connection_status = 'connected') as connected_count,
        count(*) filter (where connection_status = 'needs_reconnect') as needs_reconnect_count,
        count(*) filter (where connection_status = 'degraded') as degraded_count,
        count(*) filter (where sync_state = 'never_synced') as never_synced_count,
        count(*) filter (where sync_state = 'failed') as failed_sync_count,
        count(*) filter (where sync_state = 'stale') as stale_count,
        max(last_successful_sync_at) as last_successful_sync_at
    from overview

),

removed as (

    select count(*) as removed_connection_count
    from {{ ref('dim_sendgrid_tenants') }}
    where is_removed

),

accounts as (

    select
        count(*) as account_count,
        -- of the tenants whose volume is known; null when none is (unknown, never 0)
        case when count(requests_30d) > 0 then sum(requests_30d) end as requests_30d,
        count(requests_30d) as requests_30d_tenant_count,
        count(*) filter (where utilization_status = 'at_risk') as credits_at_risk_count,
        count(*) filter (where utilization_status = 'overage') as credits_overage_count,
        -- no credit total read: neither over nor at risk as far as anyone knows (not a 0)
        count(*) filter (where utilization_status = 'unknown') as credits_unknown_count,
        -- a sum of money is unknown (null) when one of the amounts it counts is: an overage on a
        -- plan of unknown price is never $0.00
        {{ sendgrid_known_sum('projected_overage_cost_usd', 'is_overage_expected') }}
            as projected_overage_cost_usd,
        -- features: of the tenants whose features are known; null when none is
        case when count(features_used) > 0 then sum(features_used) end as features_used,
        case when count(features_licensed) > 0 then sum(features_licensed) end
            as features_licensed,
        -- (the overview's unused_paid is 0, not null, for a tenant with no feature known)
        case when count(features_used) > 0 then sum(features_unused_paid) end
            as features_unused_paid,
        -- plan changes: the known amounts, and how many are unknown (counted, not summed)
        {{ sendgrid_known_part_sum('-monthly_cost_change_usd', "recommendation = 'downgrade'") }}
            as downgrade_savings_usd,
        count(*) filter (where recommendation = 'downgrade') as downgrade_count,
        count(*) filter (
            where recommendation = 'downgrade' and monthly_cost_change_usd is null
        ) as downgrade_savings_unknown_count,
        {{ sendgrid_known_part_sum('monthly_cost_change_usd', "recommendation = 'upgrade'") }}
            as upgrade_cost_usd,
        count(*) filter (where recommendation = 'upgrade') as upgrade_count,
        count(*) filter (
            where recommendation = 'upgrade' and monthly_cost_change_usd is null
        ) as upgrade_cost_unknown_count
    from overview
    where is_counted_in_totals

),

final as (

    select
        as_of.as_of_at::timestamptz as as_of_at,
        connections.tenant_count::integer as tenant_count,
        accounts.account_count::integer as account_count,
        connections.duplicate_connection_count::integer as duplicate_connection_count,
        connections.subuser_connection_count::integer as subuser_connection_count,
        removed.removed_connection_count::integer as removed_connection_count,
        connections.connected_count::integer as connected_count,
        connections.needs_reconnect_count::integer as needs_reconnect_count,
        connections.degraded_count::integer as degraded_count,
        connections.never_synced_count::integer as never_synced_count,
        connections.failed_sync_count::integer as failed_sync_count,
        connections.stale_count::integer as stale_count,
        accounts.requests_30d::bigint as requests_30d,
        accounts.requests_30d_tenant_count::integer as requests_30d_tenant_count,
        accounts.credits_at_risk_count::integer as credits_at_risk_count,
        accounts.credits_overage_count::integer as credits_overage_count,
        accounts.credits_unknown_count::integer as credits_unknown_count,
        accounts.projected_overage_cost_usd::numeric(12, 2) as projected_overage_cost_usd,
        accounts.features_used::integer as features_used,
        accounts.features_licensed::integer as features_licensed,
        accounts.features_unused_paid::integer as features_unused_paid,
        accounts.downgrade_savings_usd::numeric(12, 2) as downgrade_savings_usd,
        accounts.downgrade_count::integer as downgrade_count,
        accounts.upgrade_cost_usd::numeric(12, 2) as upgrade_cost_usd,
        accounts.upgrade_count::integer as upgrade_count,
        -- the known changes; null only when neither kind has a known amount
        (case
            when accounts.upgrade_cost_usd is not null or accounts.downgrade_savings_usd is not null
                then coalesce(accounts.upgrade_cost_usd, 0)
                    - coalesce(accounts.downgrade_savings_usd, 0)
        end)::numeric(12, 2) as net_plan_change_usd,
        connections.last_successful_sync_at::timestamptz as last_successful_sync_at,
        accounts.downgrade_savings_unknown_count::integer as downgrade_savings_unknown_count,
        accounts.upgrade_cost_unknown_count::integer as upgrade_cost_unknown_count
    from as_of
    cross join connections
    cross join accounts
    cross join removed
    -- no row before the first extraction (no as-of instant yet)
    where as_of.as_of_at is not null

)

select * from final
