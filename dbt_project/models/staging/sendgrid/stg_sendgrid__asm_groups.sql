{#- Unsubscribe groups (GET /v3/asm/groups) of the parent and its subusers. -#}
with

source as (

    select * from {{ source('sendgrid', 'asm_groups') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as asm_group_version_id,
        tenant_id,
        subuser,
        record ->> 'id' as asm_group_id,

        ---------- strings
        record ->> 'name' as asm_group_name,

        ---------- numerics
        coalesce((record ->> 'unsubscribes')::bigint, 0) as unsubscribe_count,

        ---------- booleans
        coalesce((record ->> 'is_default')::boolean, false) as is_default,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
