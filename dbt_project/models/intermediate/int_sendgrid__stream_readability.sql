{#-
    Whether the pipeline could read a stream of a tenant: one row per tenant and stream the
    loader knows (any tenant has a status or a sync state for it). The one rule that tells a
    true zero from an unknown: a figure built from a stream that is not readable is null.

    Readability, from the loader's last status (stg_sendgrid__stream_statuses) and its last
    success (stg_sendgrid__sync_states):
    `readable` (read in the last run, or in error now after an earlier success: the figures
    are those of that success), `stale` (readable, but last read before the day before the
    as-of day, e.g. a key revoked weeks ago whose statuses nothing wrote since: its current
    figures are unknown), `not_licensed` (the plan lacks the feature: nothing to read, a
    true zero), `missing_scope` (the credential lacks the stream's scope: whatever an older
    key loaded no longer covers the window), `error` (failed, never read) or `not_read`
    (never attempted, e.g. a tenant that never synced). Readable (`is_readable`) = readable
    or not_licensed. No row at all = not read.
    `covered_through_date`: the last day whose figures the stream's data holds: the last complete day before the as-of of the extract run that last read it (stg_sendgrid__extract_runs), every day
    ('infinity') when not licensed or when that run is not recorded, the day before the last
    success when the scope is gone and its run is not recorded, null when never read.
    "The run that last read it" is the last run in which the whole stream was `ok` (every
    unit: the parent and each subuser). Only a stream never `ok` since the status table
    recorded that run falls back to its units' latest success, the latest of any unit.
-#}
with

tenants as (

    select * from {{ ref('stg_sendgrid__tenants') }}

),

stream_statuses as (

    select * from {{ ref('stg_sendgrid__stream_statuses') }}

),

sync_states as (

    select * from {{ ref('stg_sendgrid__sync_states') }}

),

extract_runs as (

    select * from {{ ref('stg_sendgrid__extract_runs') }}

),

last_successes as (

    select
        sync_states.tenant_id,
        sync_states.stream_name,
        max(sync_states.last_success_at) as last_success_at,
        max(extract_runs.as_of_at) as last_success_as_of_at
    from sync_states
    left join extract_runs on sync_states.extract_run_id = extract_runs.extract_run_id
    group by 1, 2

),

stream_names as (

    select stream_name from stream_statuses
    union
    select stream_name from sync_states

),

tenant_streams as (

    select
        tenants.tenant_id,
        stream_names.stream_name
    from tenants
    cross join stream_names

),

final as (

    select
        tenant_streams.tenant_id::text as tenant_id,
        tenant_streams.stream_name::text as stream_name,
        stream_statuses.status::text as stream_status,
        last_successes.last_success_at::timestamptz as last_success_at,
        (case
            when stream_statuses.last_ok_extract_run_id is not null then ok_runs.as_of_at
            else last_successes.last_success_as_of_at
        end) as last_success_as_of_at,
        status_runs.as_of_at as status_as_of_at,
        (case
            when stream_statuses.status = 'ok' then 'readable'
            when stream_statuses.status = 'not_licensed' then 'not_licensed'
            when stream_statuses.status = 'missing_scope' then 'missing_scope'
            when last_successes.last_success_at is not null then 'readable'
            when stream_statuses.status = 'error' then 'error'
            else 'not_read'
        end)::text as readability
    from tenant_streams
    left join stream_statuses
        on
            tenant_streams.tenant_id = stream_statuses.tenant_id
            and tenant_streams.stream_name = stream_statuses.stream_name
    left join last_successes
        on
            tenant_streams.tenant_id = last_successes.tenant_id
            and tenant_streams.stream_name = last_successes.stream_name
    left join extract_runs as status_runs
        on stream_statuses.extract_run_id = status_runs.extract_run_id
    left join extract_runs as ok_runs
        on stream_statuses.last_ok_extract_run_id = ok_runs.extract_run_id

),

covered as (

    select
        *,
        (case
            when readability = 'not_licensed' then 'infinity'::date
            when stream_status = 'ok'
                then coalesce({{ sendgrid_day_before('status_as_of_at') }}, 'infinity'::date)
            when readability = 'readable'
                then coalesce({{ sendgrid_day_before('last_success_as_of_at') }}, 'infinity'::date)
            else
                coalesce(
                    {{ sendgrid_day_before('last_success_as_of_at') }},
                    (last_success_at at time zone 'UTC')::date - 1
                )
        end)::date as covered_through_date
    from final

),

aged as (

    select
        tenant_id,
        stream_name,
        stream_status,
        last_success_at,
        covered_through_date,
        (case
            -- last read before the day before the as-of day: its figures are not current
            when readability = 'readable'
                and covered_through_date < {{ sendgrid_as_of_date() }} - 1
                then 'stale'
            else readability
        end)::text as readability
    from covered

)

select
    tenant_id,
    stream_name,
    stream_status,
    last_success_at,
    readability,
    (readability in ('readable', 'not_licensed'))::boolean as is_readable,
    covered_through_date
from aged
