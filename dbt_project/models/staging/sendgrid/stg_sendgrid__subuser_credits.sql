{#-
    The credit allocation of each subuser (GET /v3/subusers/{name}/credits): `recurring`
    (total per period), `nonrecurring` (a balance) or `unlimited` (no limit, nulls).
-#}
with

source as (

    select * from {{ source('sendgrid', 'subuser_credits') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as subuser_credits_version_id,
        tenant_id,
        coalesce(nullif(subuser, ''), record_key) as subuser_username,

        ---------- strings
        record ->> 'type' as credit_type,
        record ->> 'reset_frequency' as reset_frequency,

        ---------- numerics
        (record ->> 'total')::bigint as credits_total,
        (record ->> 'used')::bigint as credits_used,
        (record ->> 'remain')::bigint as credits_remain,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
