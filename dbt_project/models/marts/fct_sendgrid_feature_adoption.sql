{#-
    One row per tenant and feature of the `sendgrid_feature_catalog` seed. Licensed comes from
    the readability of the evidence stream (int_sendgrid__stream_readability, the one rule):
    `not_licensed` (the plan lacks it) -> false, `readable` (read now, or before a failure)
    -> true, otherwise (missing scope, only ever failed, never read) unknown (null). Used = at
    least one current record counts (usage_count > 0). State: used, unused_paid (licensed,
    not used), not_licensed or unknown (licence unknown, not used). Unknown is never zero:
    without a record that counts, usage_count is 0 and is_used false only when the evidence
    stream is readable (read, or not licensed); otherwise both are null.
-#}
with

tenants as (

    select * from {{ ref('stg_sendgrid__tenants') }}

),

feature_catalog as (

    select * from {{ ref('sendgrid_feature_catalog') }}

),

feature_usage as (

    select * from {{ ref('int_sendgrid__feature_usage') }}

),

readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}

),

tenant_features as (

    select
        tenants.tenant_id,
        feature_catalog.feature_code,
        feature_catalog.feature_name,
        feature_catalog.evidence_stream,
        feature_catalog.usage_measure
    from tenants
    cross join feature_catalog

),

final as (

    select
        md5(tenant_features.tenant_id || '|' || tenant_features.feature_code)::text
            as tenant_feature_id,
        tenant_features.tenant_id::text as tenant_id,
        tenant_features.feature_code::text as feature_code,
        tenant_features.feature_name::text as feature_name,
        (case readability.readability
            when 'readable' then true
            when 'not_licensed' then false
        end)::boolean as is_licensed,
        (case
            when feature_usage.usage_count > 0 then true
            when readability.is_readable then false
        end)::boolean as is_used,
        (case
            when feature_usage.usage_count > 0 then 'used'
            when readability.readability = 'readable' then 'unused_paid'
            when readability.readability = 'not_licensed' then 'not_licensed'
            else 'unknown'
        end)::text as feature_state,
        (case
            when feature_usage.usage_count > 0 or readability.is_readable
                then coalesce(feature_usage.usage_count, 0)
        end)::bigint as usage_count,
        feature_usage.usage_limit::bigint as usage_limit,
        round({{ safe_divide('feature_usage.usage_count', 'feature_usage.usage_limit') }} * 100, 2)
            as usage_limit_pct,
        feature_usage.last_activity_at::timestamptz as last_activity_at,
        feature_usage.emails_90d::bigint as emails_90d,
        tenant_features.evidence_stream::text as evidence_stream,
        coalesce(readability.stream_status, 'not_read')::text as evidence_stream_status,
        tenant_features.usage_measure::text as usage_measure
    from tenant_features
    left join feature_usage
        on
            tenant_features.tenant_id = feature_usage.tenant_id
            and tenant_features.feature_code = feature_usage.feature_code
    left join readability
        on
            tenant_features.tenant_id = readability.tenant_id
            and tenant_features.evidence_stream = readability.stream_name

)

select * from final
