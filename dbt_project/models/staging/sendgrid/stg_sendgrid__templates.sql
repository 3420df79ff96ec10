{% call stg_sendgrid_stream('templates', 'template_version_id') %}
        record ->> 'id' as template_id,

        ---------- strings
        record ->> 'name' as template_name,
        coalesce(
            record ->> 'generation',
            case when record ->> 'id' like 'd-%' then 'dynamic' else 'legacy' end
        ) as generation,

        ---------- numerics
        case
            when jsonb_typeof(record -> 'versions') = 'array'
                then jsonb_array_length(record -> 'versions')
            else 0
        end as version_count,

        ---------- timestamps
        -- `YYYY-MM-DD HH:MM:SS` without zone (spec pattern), read as UTC
        {{ sendgrid_to_utc("record ->> 'updated_at'") }} as updated_at
{%- endcall %}
