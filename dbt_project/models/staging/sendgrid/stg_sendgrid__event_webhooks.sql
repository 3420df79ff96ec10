{#-
    One row per event webhook version (the loader stores each element of `webhooks`; the
    API's `[{}]` placeholder of an account without webhooks is skipped, docs/api-notes.md §9.8).
-#}
with

source as (

    select * from {{ source('sendgrid', 'event_webhooks') }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as event_webhook_version_id,
        tenant_id,
        subuser,
        record ->> 'id' as event_webhook_id,

        ---------- strings
        record ->> 'friendly_name' as friendly_name,

        ---------- booleans
        coalesce((record ->> 'enabled')::boolean, false) as is_enabled,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'created_date'") }} as created_at,
        {{ sendgrid_to_utc("record ->> 'updated_date'") }} as updated_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source
    where record ->> 'id' is not null

)

select * from renamed
