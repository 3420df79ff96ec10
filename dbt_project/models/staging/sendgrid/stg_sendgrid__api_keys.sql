with

source as (

    select * from {{ source('sendgrid', 'api_keys') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as api_key_version_id,
        tenant_id,
        subuser,
        record ->> 'api_key_id' as api_key_id,

        ---------- strings
        record ->> 'name' as api_key_name,

        ---------- numerics
        -- scopes are only present when the loader read GET /v3/api_keys/{id}
        case
            when jsonb_typeof(record -> 'scopes') = 'array'
                then jsonb_array_length(record -> 'scopes')
        end as scope_count,

        ---------- booleans
        case
            when jsonb_typeof(record -> 'scopes') = 'array'
                then
                    record -> 'scopes' ? 'api_keys.create'
                    and record -> 'scopes' ? 'mail.send'
                    and record -> 'scopes' ? 'user.account.read'
        end as has_full_access,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
