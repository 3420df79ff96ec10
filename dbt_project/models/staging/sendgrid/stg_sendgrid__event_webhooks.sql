{#-
    One row per event webhook version (the loader stores each element of `webhooks`; the
    API's `[{}]` placeholder of an account without webhooks is skipped, docs/api-notes.md §9.8).
-#}
{% call stg_sendgrid_stream(
    'event_webhooks', 'event_webhook_version_id', where="record ->> 'id' is not null"
) %}
        record ->> 'id' as event_webhook_id,

        ---------- strings
        record ->> 'friendly_name' as friendly_name,

        ---------- booleans
        coalesce((record ->> 'enabled')::boolean, false) as is_enabled,

        ---------- timestamps
        {{ sendgrid_to_utc("record ->> 'created_date'") }} as created_at,
        {{ sendgrid_to_utc("record ->> 'updated_date'") }} as updated_at
{%- endcall %}
