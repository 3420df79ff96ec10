{#-
    Whether the pipeline could read a stream of a tenant: one row per tenant and stream the
    loader knows (any tenant has a status or a sync state for it). The one rule that tells a
    true zero from an unknown: a figure built from a stream that is not readable is null.

    Readability, from the loader's last status (stg_sendgrid__stream_statuses) and its last
    success (stg_sendgrid__sync_states):
    `readable` (read in the last run, or in error now after an earlier success: the figures
    are those of that success, stale but real), `not_licensed` (the plan lacks the feature:
    nothing to read, a true zero), `missing_scope` (the credential lacks the stream's scope:
    whatever an older key loaded no longer covers the window), `error` (failed, never read)
    or `not_read` (never attempted, e.g. a tenant that never synced). Readable
    (`is_readable`) = readable or not_licensed. No row at all = not read.
    `covered_through_date`: the last day whose figures the stream's data holds: every day
    ('infinity') when readable, the day before its last success when no longer readable
    (what an earlier read loaded stays true of the days before it), null when never read.
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

last_successes as (

    select
        tenant_id,
        stream_name,
        max(last_success_at) as last_success_at
    from sync_states
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

)

select
    *,
    (readability in ('readable', 'not_licensed'))::boolean as is_readable,
    (case
        when readability in ('readable', 'not_licensed') then 'infinity'::date
        else (last_success_at at time zone 'UTC')::date - 1
    end)::date as covered_through_date
from final
