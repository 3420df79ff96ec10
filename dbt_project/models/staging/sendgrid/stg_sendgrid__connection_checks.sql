{#- The loader's connection-health row per tenant; jsonb arrays become sorted text lists. -#}
with

source as (

    select * from {{ source('sendgrid', 'connection_health') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,

        ---------- strings
        display_name,
        status as connection_status,
        reason as status_reason,
        last_error,
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

        ---------- timestamps
        status_since as status_since_at,
        last_success_at,
        last_checked_at

    from source

)

select * from renamed
