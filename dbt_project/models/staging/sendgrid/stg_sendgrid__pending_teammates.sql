{% call stg_sendgrid_stream('teammates_pending', 'pending_teammate_version_id') %}
        -- the spec's schema says `token`, its example says `pending_id` (docs/api-notes.md §9.3)
        coalesce(record ->> 'token', record ->> 'pending_id') as invitation_token,

        ---------- strings
        record ->> 'email' as email,

        ---------- numerics
        case
            when jsonb_typeof(record -> 'scopes') = 'array'
                then jsonb_array_length(record -> 'scopes')
        end as scope_count,

        ---------- booleans
        coalesce((record ->> 'is_admin')::boolean, false) as is_admin,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'expiration_date'") }} as expires_at
{%- endcall %}
