{#-
    Dashboard: the reconnect alerts and banners, and the "Connection health" card, one row
    per tenant: connection status and since when, sync state, whether the admin must
    reconnect, the age of the data at the as-of instant, the last (redacted) error, streams
    read, unreadable for missing scopes, not in the plan or in error, and one sentence
    saying what the state means.
-#}
with

connection_health as (

    select * from {{ ref('fct_sendgrid_connection_health') }}

),

final as (

    select
        tenant_id::text as tenant_id,
        coalesce(display_name, tenant_id)::text as display_name,
        connection_status::text as connection_status,
        sync_state::text as sync_state,
        has_data::boolean as has_data,
        (connection_status = 'needs_reconnect')::boolean as needs_reconnect,
        (connection_status = 'degraded')::boolean as is_degraded,
        status_since_at::timestamptz as status_since_at,
        last_success_at::timestamptz as last_success_at,
        last_checked_at::timestamptz as last_checked_at,
        data_age_hours::numeric as data_age_hours,
        last_error::text as last_error,
        status_reason::text as status_reason,
        ok_stream_count::integer as ok_stream_count,
        granted_scope_count::integer as granted_scope_count,
        missing_scopes::text as missing_scopes,
        streams_missing_scopes::text as streams_missing_scopes,
        missing_scope_stream_count::integer as missing_scope_stream_count,
        streams_feature_scope::text as streams_feature_scope,
        feature_scope_stream_count::integer as feature_scope_stream_count,
        streams_not_licensed::text as streams_not_licensed,
        not_licensed_stream_count::integer as not_licensed_stream_count,
        streams_in_error::text as streams_in_error,
        error_stream_count::integer as error_stream_count,
        (case
            when sync_state = 'never_synced'
                then 'not synced yet: no figures until the first successful extraction'
            when sync_state = 'failed'
                then 'the first sync failed: no figures until a sync succeeds'
                    || case
                        when connection_status = 'needs_reconnect'
                            then ' (SendGrid rejects the credential: reconnect it)'
                        else ''
                    end
            when connection_status = 'needs_reconnect'
                then 'SendGrid rejects the credential: figures are frozen at the last '
                    || 'successful sync, '
                    || case
                        when data_age_hours < 48 then round(data_age_hours) || ' hours old'
                        else round(data_age_hours / 24) || ' days old'
                    end
            -- what made it degraded, each part once (the health row's reasons)
            when connection_status = 'degraded'
                then 'connected, ' || coalesce(nullif(concat_ws(
                        '; ',
                        case when missing_scope_stream_count > 0
                                then missing_scope_stream_count
                                    || case when missing_scope_stream_count = 1
                                            then ' stream'
                                        else ' streams'
                                    end
                                    || ' unreadable for missing scopes'
                        end,
                        -- the health lists missing scopes none of the run's streams showed
                        case when missing_scope_stream_count = 0
                                and status_reason like '%missing_scopes%'
                                then 'the key lacks ' || coalesce(missing_scopes, 'scopes')
                        end,
                        case when error_stream_count > 0
                                then error_stream_count
                                    || case
                                        when error_stream_count = 1 then ' stream' else ' streams'
                                    end
                                    || ' in error'
                        end,
                        case when status_reason like '%units_skipped%'
                                then 'subusers refused by SendGrid, missing from the totals'
                        end,
                        case when status_reason like '%ids_refused%'
                                then 'API keys or templates refused by SendGrid, their data '
                                    || 'missing'
                        end,
                        case when status_reason like '%deletions_held%'
                                then 'most of a list missing at once: its deletion waits for '
                                    || 'the next run to agree'
                        end,
                        case when status_reason like '%records_rejected%'
                                then 'records rejected (kept in sendgrid_staging.rejects)'
                        end,
                        case when status_reason like '%run_failed%'
                                then 'the last run failed before reading its streams'
                        end
                    ), ''), 'with problems in the last run')
            else 'connected'
        end)::text as status_text,
        as_of_at::timestamptz as as_of_at
    from connection_health

)

{{ sendgrid_select_with_tenant_flags('final') }}
