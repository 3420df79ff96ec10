{#- The whole /v3/user/webhooks/event/settings/all body: `max_allowed` is the plan's limit. -#}
{% call stg_sendgrid_stream('event_webhook_limits', 'event_webhook_limit_version_id') %}
        ---------- numerics
        (record ->> 'max_allowed')::integer as max_allowed
{%- endcall %}
