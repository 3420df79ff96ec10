{#-
    Seat activity in the windows of `var('sendgrid_seat_activity_windows')` (30/60/90 days,
    the convention of SaaS-management tools). One definition for teammates and subusers, used
    by fct_sendgrid_seat_utilization (per day), fct_sendgrid_seat_activity (per seat) and the
    reporting models: a seat is active in an N-day window when its last activity falls in
    the N days ending on the reference day; unknown (null) when the API exposes no activity
    for that kind of seat (teammates: SendGrid reports no sign-ins).
-#}
{% macro sendgrid_activity_flags(last_activity_date, reference_date, activity_known='true') -%}
    {%- for days in var('sendgrid_seat_activity_windows') %}
        case
            when {{ activity_known }}
                then coalesce({{ last_activity_date }} > {{ reference_date }} - {{ days }}, false)
        end as is_active_{{ days }}d
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#-
    Counts over rows carrying `is_enabled` and the flags above, as `<prefix>_total`,
    `_enabled`, `_active_<N>d` (enabled, active in N days) and `_inactive_<N>d` (enabled, not
    active in N days) per window, and `_activity_unknown`. Active and inactive split the
    enabled seats: a disabled one is neither, whenever it last sent.
-#}
{% macro sendgrid_seat_activity_counts(prefix, where='true') -%}
    {%- set windows = var('sendgrid_seat_activity_windows') -%}
    count(*) filter (where {{ where }}) as {{ prefix }}_total,
    count(*) filter (where {{ where }} and is_enabled) as {{ prefix }}_enabled,
    {%- for days in windows %}
        count(*) filter (
            where {{ where }} and is_enabled and is_active_{{ days }}d
        ) as {{ prefix }}_active_{{ days }}d,
        count(*) filter (
            where {{ where }} and is_enabled and not is_active_{{ days }}d
        ) as {{ prefix }}_inactive_{{ days }}d,
    {%- endfor %}
    count(*) filter (
        where {{ where }} and is_active_{{ windows[0] }}d is null
    ) as {{ prefix }}_activity_unknown
{%- endmacro %}
