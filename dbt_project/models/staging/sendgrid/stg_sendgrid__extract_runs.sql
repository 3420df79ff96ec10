with

source as (

    select * from {{ source('sendgrid', 'extract_runs') }}

),

renamed as (

    select
        ---------- ids
        run_id as extract_run_id,

        ---------- numerics
        tenants as tenant_count,
        records as record_count,

        ---------- timestamps
        as_of as as_of_at,
        published_at

    from source

)

select * from renamed
