with

source as (

    select * from {{ source('sendgrid', 'stream_status') }}

),

renamed as (

    select
        ---------- ids
        tenant_id || '|' || stream as stream_status_id,
        tenant_id,
        stream as stream_name,

        ---------- strings
        status,
        detail,
        run_id as extract_run_id,
        last_ok_run_id as last_ok_extract_run_id,

        ---------- timestamps
        checked_at

    from source

)

select * from renamed
