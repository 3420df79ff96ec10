{% call stg_sendgrid_stream('authenticated_domains', 'authenticated_domain_version_id') %}
        (record ->> 'id')::bigint as authenticated_domain_id,

        ---------- strings
        record ->> 'domain' as domain,  -- noqa: RF04
        record ->> 'subdomain' as subdomain,
        record ->> 'username' as owner_username,

        ---------- booleans
        coalesce((record ->> 'valid')::boolean, false) as is_valid,
        coalesce((record ->> 'default')::boolean, false) as is_default,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'last_validation_attempt_at'") }}
            as last_validation_attempt_at
{%- endcall %}
