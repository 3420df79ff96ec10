{#-
    Dashboard: the "Feature adoption" tiles: every feature of the catalog per tenant with its
    state (used, unused_paid, not_licensed, unknown), usage against the limit, the emails it
    carried in the 90 days ending on the as-of day where measurable, and the tile order
    (used first, then licensed, then by name; unknowns after the known). The state counts are in
    rpt_sendgrid_utilization_overview.
-#}
with

feature_adoption as (

    select * from {{ ref('fct_sendgrid_feature_adoption') }}

),

final as (

    select
        tenant_feature_id::text as tenant_feature_id,
        tenant_id::text as tenant_id,
        (row_number() over (
            partition by tenant_id
            order by is_used desc nulls last, is_licensed desc nulls last, feature_name asc
        ))::integer as display_order,
        feature_code::text as feature_code,
        feature_name::text as feature_name,
        feature_state::text as feature_state,
        is_licensed::boolean as is_licensed,
        is_used::boolean as is_used,
        usage_count::bigint as usage_count,
        usage_limit::bigint as usage_limit,
        usage_limit_pct::numeric as usage_limit_pct,
        emails_90d::bigint as emails_90d,
        last_activity_at::timestamptz as last_activity_at,
        evidence_stream::text as evidence_stream,
        evidence_stream_status::text as evidence_stream_status,
        usage_measure::text as usage_measure,
        {{ sendgrid_as_of() }} as as_of_at
    from feature_adoption

)

{{ sendgrid_select_with_tenant_flags('final') }}
