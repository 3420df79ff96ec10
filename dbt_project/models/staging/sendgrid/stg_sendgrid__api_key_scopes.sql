{#-
    One row per stored version of a key's scopes (GET /v3/api_keys/{api_key_id}, one request
    per key of the list). The full-access rule lives here and nowhere else.
-#}
{% call stg_sendgrid_stream('api_key_scopes', 'api_key_scopes_version_id') %}
        record ->> 'api_key_id' as api_key_id,

        ---------- numerics
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
