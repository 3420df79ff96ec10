{#-
    Dashboard and BI: usage against plan over past periods, from the snapshots every
    transform run keeps (fct_sendgrid_plan_utilization_history): per tenant and credit
    period, how many runs observed it and its use, projection and status. An open period
    shows its latest snapshot. A closed period shows its actual use when
    fct_sendgrid_plan_utilization still has it (basis `actual`: the last reading plus the
    days after it, `is_period_closed`); a snapshot of a closed period, taken before its last
    day, would miss that day's sends and show a projection's status. Without it (staging
    no longer holds the period), the latest snapshot stands (`figures_from` says which).
    The projected overage is priced at the plan in force during the period
    (`period_plan_code`): a closed period's from its own credits (fct_sendgrid_plan_utilization),
    a snapshot's the plan current at its as-of; `period_plan_basis` says which, or unknown
    (the cost is then null, never priced at today's plan).
-#}
with

history as (

    select * from {{ ref('fct_sendgrid_plan_utilization_history') }}
    where as_of_at <= {{ sendgrid_as_of() }}

),

closed_periods as (

    select * from {{ ref('fct_sendgrid_plan_utilization') }}
    where is_period_closed

),

ranked as (

    select
        *,
        row_number() over (
            partition by tenant_id, period_start_date order by as_of_at desc
        ) as snapshot_rank,
        count(*) over (partition by tenant_id, period_start_date) as snapshot_count,
        min(as_of_at) over (partition by tenant_id, period_start_date) as first_as_of_at
    from history

),

final as (

    select
        md5(ranked.tenant_id || '|' || ranked.period_start_date::text)::text as usage_period_id,
        ranked.tenant_id::text as tenant_id,
        ranked.period_start_date::date as period_start_date,
        ranked.period_end_date::date as period_end_date,
        ranked.snapshot_count::integer as snapshot_count,
        ranked.first_as_of_at::timestamptz as first_as_of_at,
        ranked.as_of_at::timestamptz as last_as_of_at,
        {%- for column, type in [
            ('days_elapsed', 'integer'), ('period_days', 'integer'),
            ('credits_total', 'bigint'), ('credits_used', 'bigint'),
            ('credits_used_pct', 'numeric'), ('projected_credits_used', 'bigint'),
            ('projected_used_pct', 'numeric'), ('projection_basis', 'text'),
            ('utilization_status', 'text'), ('projected_overage_cost_usd', 'numeric(12, 2)'),
            ('period_plan_code', 'text'),
        ] %}
            case
                when closed_periods.tenant_id is not null then closed_periods.{{ column }}
                else ranked.{{ column }}
            end::{{ type }} as {{ column }},
        {%- endfor %}
        -- how the plan in force is known: a closed period's own credits, or a snapshot taken
        -- while the period was current (on the plan then current); unknown without either
        (case
            when closed_periods.tenant_id is not null then closed_periods.period_plan_basis
            when ranked.period_plan_code is not null then 'current_period'
            else 'unknown'
        end)::text as period_plan_basis,
        (closed_periods.tenant_id is not null)::boolean as is_period_closed,
        (case
            when closed_periods.tenant_id is not null then 'closed_period'
            else 'latest_snapshot'
        end)::text as figures_from
    from ranked
    left join closed_periods
        on
            ranked.tenant_id = closed_periods.tenant_id
            and ranked.period_start_date = closed_periods.period_start_date
    where ranked.snapshot_rank = 1

)

{{ sendgrid_select_with_tenant_flags('final') }}
