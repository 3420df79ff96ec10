with

source as (

    select * from {{ source('sendgrid', 'validation_jobs') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as validation_job_version_id,
        tenant_id,
        subuser,
        record ->> 'id' as validation_job_id,

        ---------- strings
        record ->> 'status' as status,

        ---------- timestamps
        -- typed number "ISO8601 timestamp" in the spec, epoch seconds in its examples
        {{ sendgrid_to_utc("record ->> 'started_at'") }} as started_at,
        {{ sendgrid_to_utc("record ->> 'finished_at'") }} as finished_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
