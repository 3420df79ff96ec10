{% call stg_sendgrid_stream('segments', 'segment_version_id') %}
        record ->> 'id' as segment_id,

        ---------- strings
        record ->> 'name' as segment_name,

        ---------- numerics
        coalesce((record ->> 'contacts_count')::bigint, 0) as contact_count,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'created_at'") }} as created_at,
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at
{%- endcall %}
