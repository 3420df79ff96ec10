{% call stg_sendgrid_stream('link_branding', 'link_branding_version_id') %}
        (record ->> 'id')::bigint as link_branding_id,

        ---------- strings
        record ->> 'domain' as domain,  -- noqa: RF04
        record ->> 'subdomain' as subdomain,

        ---------- booleans
        coalesce((record ->> 'valid')::boolean, false) as is_valid,
        coalesce((record ->> 'default')::boolean, false) as is_default
{%- endcall %}
