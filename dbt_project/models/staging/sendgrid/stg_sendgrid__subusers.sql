{% call stg_sendgrid_stream('subusers', 'subuser_version_id', keep_subuser=false) %}
        (record ->> 'id')::bigint as subuser_id,

        ---------- strings
        record ->> 'username' as subuser_username,
        record ->> 'email' as email,
        record ->> 'region' as region,

        ---------- booleans
        coalesce((record ->> 'disabled')::boolean, false) as is_disabled
{%- endcall %}
