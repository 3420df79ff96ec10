with

source as (

    select * from {{ source('sendgrid', 'teammates') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as teammate_version_id,
        tenant_id,
        subuser,
        record ->> 'username' as teammate_username,

        ---------- strings
        record ->> 'email' as email,
        record ->> 'first_name' as first_name,
        record ->> 'last_name' as last_name,
        coalesce(
            record ->> 'user_type',
            case when (record ->> 'is_admin')::boolean then 'admin' else 'teammate' end
        ) as user_type,

        ---------- booleans
        coalesce((record ->> 'is_admin')::boolean, false) as is_admin,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
