{#- The loader's connection-health row per tenant; jsonb arrays become sorted text lists. -#}
with

source as (

    select * from {{ source('sendgrid', 'connection_health') }}

),

renamed as (

    select
        ---------- ids
        source.tenant_id,

        ---------- strings
        source.display_name,
        source.status as connection_status,
        source.reason as status_reason,
        source.last_error,
        (
            select string_agg(scope.value, ', ' order by scope.value)
            from jsonb_array_elements_text(
                    case
                        when jsonb_typeof(source.missing_scopes) = 'array'
                            then source.missing_scopes
                        else '[]'::jsonb
                    end
                ) as scope (value)
        ) as missing_scopes,
        -- the streams the credential's missing *required* scopes disable (a stream skipped
        -- for a feature scope, e.g. subusers on a plan without them, is not listed)
        case
            when jsonb_typeof(source.streams_missing_scopes) = 'object'
                then coalesce((
                        select string_agg(lacking.stream_name, ', ' order by lacking.stream_name)
                        from
                            jsonb_object_keys(source.streams_missing_scopes)
                                as lacking (stream_name)
                    ), '')
        end as required_scope_streams,

        ---------- timestamps
        source.status_since as status_since_at,
        source.last_success_at,
        source.last_checked_at

    from source

)

select * from renamed
