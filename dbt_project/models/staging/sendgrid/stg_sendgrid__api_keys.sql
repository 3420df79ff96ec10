{% call stg_sendgrid_stream('api_keys', 'api_key_version_id') %}
        record ->> 'api_key_id' as api_key_id,

        ---------- strings
        record ->> 'name' as api_key_name,

        ---------- numerics
        -- scopes are only present when the loader read GET /v3/api_keys/{id}
        case
            when jsonb_typeof(record -> 'scopes') = 'array'
                then jsonb_array_length(record -> 'scopes')
        end as scope_count,

        ---------- booleans
        case
            when jsonb_typeof(record -> 'scopes') = 'array'
                then
                    record -> 'scopes' ? 'api_keys.create'
                    and record -> 'scopes' ? 'mail.send'
                    and record -> 'scopes' ? 'user.account.read'
        end as has_full_access
{%- endcall %}
