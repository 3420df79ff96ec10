with

source as (

    select * from {{ source('sendgrid', 'tenants') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,

        ---------- strings
        display_name,
        region,
        auth_type,

        ---------- timestamps
        first_seen_at,
        last_seen_at,
        removed_at

    from source

)

select * from renamed
