{#-
    One row per tenant at the as-of instant: the loader's connection status, when data last
    arrived and how old it is at the as-of (never negative), the sync state, which streams
    it could not read because the key lacks a scope or the plan lacks the feature, and how
    many scopes the credential holds. Errors are the loader's redacted text.

    Sync state: `synced` (the last connection check worked; streams in error are listed),
    `stale` (the credential stopped working; the figures are those of the last successful
    sync), `failed` (attempted, never succeeded: no
    data) or `never_synced` (no attempt recorded yet). Only tenants with data
    (`has_data`) get projections and a plan recommendation.
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

scopes as (

    select * from {{ ref('stg_sendgrid__scopes') }}
    where is_current and not is_deleted and subuser = ''

),

classified_statuses as (

    -- a stream skipped for a scope the health check does not count as required (a feature
    -- scope: subusers on a plan without them, validation a Full Access key never carries) is
    -- "not readable with this key", not a missing scope the admin must grant
    select
        statuses.tenant_id,
        statuses.stream_name,
        case
            when
                statuses.status = 'missing_scope'
                and checks.required_scope_streams is not null
                and not (
                    statuses.stream_name = any(string_to_array(checks.required_scope_streams, ', '))
                )
                then 'feature_scope'
            else statuses.status
        end as status
    from stream_statuses as statuses
    left join connection_checks as checks on statuses.tenant_id = checks.tenant_id

),

stream_summary as (

    select
        tenant_id,
        string_agg(stream_name, ', ' order by stream_name)
        filter (where status = 'missing_scope') as streams_missing_scopes,
        count(*) filter (where status = 'missing_scope') as missing_scope_count,
        string_agg(stream_name, ', ' order by stream_name)
        filter (where status = 'feature_scope') as streams_feature_scope,
        count(*) filter (where status = 'feature_scope') as feature_scope_count,
        string_agg(stream_name, ', ' order by stream_name)
        filter (where status = 'not_licensed') as streams_not_licensed,
        count(*) filter (where status = 'not_licensed') as not_licensed_count,
        string_agg(stream_name, ', ' order by stream_name)
        filter (where status = 'error') as streams_in_error,
        count(*) filter (where status = 'error') as error_count,
        count(*) filter (where status = 'ok') as streams_ok
    from classified_statuses
    group by 1

),

data_loads as (

    -- a stream completed (sync state) or was read without error (stream status)
    select
        tenant_id,
        last_success_at as loaded_at
    from sync_states

    union all

    select
        tenant_id,
        checked_at as loaded_at
    from stream_statuses
    where status = 'ok'

),

sync_summary as (

    select
        tenant_id,
        max({{ sendgrid_at_most_as_of('loaded_at') }}) as last_stream_success_at
    from data_loads
    group by 1

),

scope_summary as (

    select
        tenant_id,
        count(distinct scope_name) as granted_scope_count
    from scopes
    group by 1

),

joined as (

    select
        tenants.tenant_id,
        coalesce(connection_checks.display_name, tenants.display_name) as display_name,
        coalesce(connection_checks.connection_status, 'never_connected') as connection_status,
        {{ sendgrid_at_most_as_of('connection_checks.status_since_at') }} as status_since_at,
        connection_checks.last_error,
        connection_checks.status_reason,
        {{ sendgrid_at_most_as_of(
            'coalesce(connection_checks.last_success_at, sync_summary.last_stream_success_at)'
        ) }} as last_success_at,
        {{ sendgrid_at_most_as_of('connection_checks.last_checked_at') }} as last_checked_at,
        sync_summary.last_stream_success_at as last_data_at,
        connection_checks.missing_scopes,
        stream_summary.streams_missing_scopes,
        stream_summary.missing_scope_count,
        stream_summary.streams_feature_scope,
        stream_summary.feature_scope_count,
        stream_summary.streams_not_licensed,
        stream_summary.not_licensed_count,
        stream_summary.streams_in_error,
        stream_summary.error_count,
        stream_summary.streams_ok,
        scope_summary.granted_scope_count
    from tenants
    left join connection_checks on tenants.tenant_id = connection_checks.tenant_id
    left join stream_summary on tenants.tenant_id = stream_summary.tenant_id
    left join sync_summary on tenants.tenant_id = sync_summary.tenant_id
    left join scope_summary on tenants.tenant_id = scope_summary.tenant_id

),

final as (

    select
        tenant_id::text as tenant_id,
        display_name::text as display_name,
        connection_status::text as connection_status,
        (case
            when
                last_data_at is not null and connection_status in ('connected', 'degraded')
                then 'synced'
            when last_data_at is not null then 'stale'
            when
                connection_status = 'needs_reconnect' or coalesce(error_count, 0) > 0
                then 'failed'
            else 'never_synced'
        end)::text as sync_state,
        (last_data_at is not null)::boolean as has_data,
        status_since_at::timestamptz as status_since_at,
        last_error::text as last_error,
        status_reason::text as status_reason,
        last_success_at::timestamptz as last_success_at,
        last_checked_at::timestamptz as last_checked_at,
        last_data_at::timestamptz as last_data_at,
        round(
            (
                extract(epoch from {{ sendgrid_as_of() }} - coalesce(last_data_at, last_success_at))
                / 3600
            )::numeric,
            2
        ) as data_age_hours,
        missing_scopes::text as missing_scopes,
        streams_missing_scopes::text as streams_missing_scopes,
        coalesce(missing_scope_count, 0)::integer as missing_scope_stream_count,
        streams_feature_scope::text as streams_feature_scope,
        coalesce(feature_scope_count, 0)::integer as feature_scope_stream_count,
        streams_not_licensed::text as streams_not_licensed,
        coalesce(not_licensed_count, 0)::integer as not_licensed_stream_count,
        streams_in_error::text as streams_in_error,
        coalesce(error_count, 0)::integer as error_stream_count,
        coalesce(streams_ok, 0)::integer as ok_stream_count,
        granted_scope_count::integer as granted_scope_count,
        {{ sendgrid_as_of() }} as as_of_at
    from joined

)

select * from final
