{% call stg_sendgrid_stream('teammates', 'teammate_version_id') %}
        record ->> 'username' as teammate_username,

        ---------- strings
        record ->> 'email' as email,
        record ->> 'first_name' as first_name,
        record ->> 'last_name' as last_name,
        coalesce(
            record ->> 'user_type',
            case when (record ->> 'is_admin')::boolean then 'admin' else 'teammate' end
        ) as user_type,

        ---------- booleans
        coalesce((record ->> 'is_admin')::boolean, false) as is_admin
{%- endcall %}
