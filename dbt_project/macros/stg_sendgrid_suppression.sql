{#-
    Body of the five suppression staging models (bounces, blocks, spam_reports,
    invalid_emails, unsubscribes): same columns, `created` in epoch seconds.
-#}
{% macro stg_sendgrid_suppression(stream, kind) %}
with

source as (

    select * from {{ source('sendgrid', stream) }}

),

renamed as (

    select
        ---------- ids
        {{ sendgrid_version_id() }} as suppression_id,
        tenant_id,
        subuser,
        record ->> 'email' as email,

        ---------- strings
        '{{ kind }}'::text as suppression_kind,
        record ->> 'reason' as reason,
        record ->> 'status' as smtp_status,
        record ->> 'ip' as ip_address,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'created'") }} as created_at,

        ---------- bookkeeping
        {{ sendgrid_bookkeeping_columns() }}

    from source

)

select * from renamed
{% endmacro %}
