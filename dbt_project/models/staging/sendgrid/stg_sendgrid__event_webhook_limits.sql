{#- The whole /v3/user/webhooks/event/settings/all body: `max_allowed` is the plan's limit. -#}
with

source as (

    select * from {{ source('sendgrid', 'event_webhook_limits') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as event_webhook_limit_version_id,
        tenant_id,
        subuser,

        ---------- numerics
        (record ->> 'max_allowed')::integer as max_allowed,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
