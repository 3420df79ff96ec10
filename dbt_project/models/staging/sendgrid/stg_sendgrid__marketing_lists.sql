{% call stg_sendgrid_stream('marketing_lists', 'marketing_list_version_id') %}
        record ->> 'id' as marketing_list_id,

        ---------- strings
        record ->> 'name' as marketing_list_name,

        ---------- numerics
        coalesce((record ->> 'contact_count')::bigint, 0) as contact_count
{%- endcall %}
