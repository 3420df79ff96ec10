{% call stg_sendgrid_stream('validation_jobs', 'validation_job_version_id') %}
        record ->> 'id' as validation_job_id,

        ---------- strings
        record ->> 'status' as status,

        ---------- timestamps
        -- typed number "ISO8601 timestamp" in the spec, epoch seconds in its examples
        {{ sendgrid_to_utc("record ->> 'started_at'") }} as started_at,
        {{ sendgrid_to_utc("record ->> 'finished_at'") }} as finished_at
{%- endcall %}
