{#-
    The organization's profile (GET /v3/user/profile), one version per row. Only the company
    facts are kept: names, addresses and phone numbers of people stay in staging.
-#}
with

source as (

    select * from {{ source('sendgrid', 'user_profile') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as profile_version_id,
        tenant_id,
        subuser,

        ---------- strings
        nullif(trim(record ->> 'company'), '') as company_name,
        nullif(trim(record ->> 'country'), '') as country,
        nullif(trim(record ->> 'website'), '') as website,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
