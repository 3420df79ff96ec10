with

source as (

    select * from {{ source('sendgrid', 'sync_state') }}

),

renamed as (

    select
        ---------- ids
        tenant_id || '|' || stream || '|' || subuser as sync_state_id,
        tenant_id,
        stream as stream_name,
        subuser,

        ---------- strings
        last_run_id as extract_run_id,

        ---------- numerics
        rows_last_run,

        ---------- timestamps
        last_success_at

    from source

)

select * from renamed
