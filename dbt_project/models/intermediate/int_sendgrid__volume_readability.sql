{#-
    Whether a tenant's email volume (its parent and its subusers, int_sendgrid__sender_activity_daily)
    is known: one row per tenant, the one rule for every volume figure.

    The parent's days come from /v3/stats (global_stats); the subusers' from
    /v3/subusers/stats or /v3/stats read on their behalf, both for the subusers the loader
    lists (subusers): when that list is not readable, the subusers' volume and so the
    total are unknown, even where the parent's days were read. Readable when both streams
    are (int_sendgrid__stream_readability; a plan without subusers has them `not_licensed`,
    a true zero). `unreadable_reason` names the first that is not, `covered_through_date` is
    the earlier of their last covered days (null when either was never read),
    `parent_covered_through_date` that of the parent's days alone (/v3/stats).
-#}
with

tenants as (

    select * from {{ ref('stg_sendgrid__tenants') }}

),

readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}

),

streams as (

    select
        {%- for label, stream in [('stats', 'global_stats'), ('subusers', 'subusers')] %}
            bool_or(is_readable) filter (where stream_name = '{{ stream }}')
                as {{ label }}_readable,
            max(readability) filter (where stream_name = '{{ stream }}')
                as {{ label }}_readability,
            max(covered_through_date) filter (where stream_name = '{{ stream }}')
                as {{ label }}_covered_through,
        {%- endfor %}
        tenant_id
    from readability
    group by tenant_id

),

final as (

    select
        tenants.tenant_id::text as tenant_id,
        (
            coalesce(streams.stats_readable, false) and coalesce(streams.subusers_readable, false)
        )::boolean as is_readable,
        (case
            {%- for label in ['stats', 'subusers'] %}
                when not coalesce(streams.{{ label }}_readable, false)
                    then '{{ label }} '
                        || replace(coalesce(streams.{{ label }}_readability, 'not_read'), '_', ' ')
            {%- endfor %}
        end)::text as unreadable_reason,
        (case
            -- least() skips nulls: never read is covered through no day
            when streams.stats_covered_through is not null
                and streams.subusers_covered_through is not null
                then least(streams.stats_covered_through, streams.subusers_covered_through)
        end)::date as covered_through_date,
        streams.stats_covered_through::date as parent_covered_through_date
    from tenants
    left join streams on tenants.tenant_id = streams.tenant_id

)

select * from final
