{#-
    One row per tenant: the loader's connection status, when it last succeeded and how old
    the data is (at build time), and which streams it could not read because the key lacks
    a scope or the plan lacks the feature. Errors are the loader's redacted text.
-#}
with

tenants as (

    select * from {{ ref('stg_sendgrid__tenants') }}

),

connection_checks as (

    select * from {{ ref('stg_sendgrid__connection_checks') }}

),

stream_statuses as (

    select * from {{ ref('stg_sendgrid__stream_statuses') }}

),

sync_states as (

    select * from {{ ref('stg_sendgrid__sync_states') }}

),

stream_summary as (

    select
        tenant_id,
        string_agg(stream_name, ', ' order by stream_name)
        filter (where status = 'missing_scope') as streams_missing_scopes,
        count(*) filter (where status = 'missing_scope') as missing_scope_count,
        string_agg(stream_name, ', ' order by stream_name)
        filter (where status = 'not_licensed') as streams_not_licensed,
        count(*) filter (where status = 'not_licensed') as not_licensed_count,
        string_agg(stream_name, ', ' order by stream_name)
        filter (where status = 'error') as streams_in_error,
        count(*) filter (where status = 'ok') as streams_ok
    from stream_statuses
    group by 1

),

sync_summary as (

    select
        tenant_id,
        max(last_success_at) as last_stream_success_at
    from sync_states
    group by 1

),

final as (

    select
        tenants.tenant_id::text as tenant_id,
        coalesce(connection_checks.display_name, tenants.display_name)::text as display_name,
        coalesce(connection_checks.connection_status, 'never_connected')::text
            as connection_status,
        connection_checks.status_since_at::timestamptz as status_since_at,
        connection_checks.last_error::text as last_error,
        coalesce(connection_checks.last_success_at, sync_summary.last_stream_success_at)
        ::timestamptz as last_success_at,
        connection_checks.last_checked_at::timestamptz as last_checked_at,
        round(
            (extract(epoch from current_timestamp - coalesce(
                connection_checks.last_success_at, sync_summary.last_stream_success_at
            )) / 3600)::numeric,
            2
        ) as data_age_hours,
        connection_checks.missing_scopes::text as missing_scopes,
        stream_summary.streams_missing_scopes::text as streams_missing_scopes,
        coalesce(stream_summary.missing_scope_count, 0)::integer as missing_scope_stream_count,
        stream_summary.streams_not_licensed::text as streams_not_licensed,
        coalesce(stream_summary.not_licensed_count, 0)::integer as not_licensed_stream_count,
        stream_summary.streams_in_error::text as streams_in_error,
        coalesce(stream_summary.streams_ok, 0)::integer as ok_stream_count
    from tenants
    left join connection_checks on tenants.tenant_id = connection_checks.tenant_id
    left join stream_summary on tenants.tenant_id = stream_summary.tenant_id
    left join sync_summary on tenants.tenant_id = sync_summary.tenant_id

)

select * from final
