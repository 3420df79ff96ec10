{#-
    The one "now" of a transform run: the as-of instant every model measures time against.

    * dbt var `sendgrid_as_of` (ISO-8601 timestamp, e.g. 2026-11-28T00:00:00Z; a value
      without a zone is read as UTC): the transform DAG passes the data interval end of the
      extract run that triggered it (the `as_of` of the `sendgrid_staging` Asset event), or
      the newest one `extract_runs` holds when that is later (a cleared older run).
    * Without the var (a developer running `dbt build` by hand) it comes from the staging
      data, never from the wall clock: the `as_of` of the latest extract run recorded in
      `extract_runs`, else the latest time the loader checked a stream or a connection or
      saw a tenant.

    So the same staging and the same as-of always build the same marts. Models never call
    `current_date`, `now()` or `current_timestamp`.
-#}
{% macro sendgrid_as_of() -%}
    {%- set value = var('sendgrid_as_of', none) -%}
    {#- `modules` is dbt's; linters rendering the SQL without it take the staging default. -#}
    {%- if value is not none and (value | string | trim) != '' and modules is defined -%}
        {{ sendgrid_timestamp_literal(value) }}
    {%- else -%}
        (
            select coalesce(
                (select max(as_of) from {{ source('sendgrid', 'extract_runs') }}),
                (
                    select max(observed.observed_at)
                    from (
                        select max(checked_at) as observed_at
                        from {{ source('sendgrid', 'stream_status') }}
                        union all
                        select max(last_checked_at)
                        from {{ source('sendgrid', 'connection_health') }}
                        union all
                        select max(last_seen_at)
                        from {{ source('sendgrid', 'tenants') }}
                    ) as observed
                )
            )
        )
    {%- endif -%}
{%- endmacro %}

{#-
    The as-of day: the last UTC day that has begun before the as-of instant. Every scheduled
    run's as-of is a midnight (its data interval end), when the new day has sent nothing yet:
    the as-of day is then the last complete day, the one the stats, credits and projections
    count up to (the day of the instant itself counts only once it has begun).
-#}
{% macro sendgrid_as_of_date() -%}
    {{ sendgrid_day_before(sendgrid_as_of()) }}
{%- endmacro %}

{#- The last UTC day that has begun before `instant` (a SQL timestamptz expression). -#}
{% macro sendgrid_day_before(instant) -%}
    ((({{ instant }}) - interval '1 microsecond') at time zone 'UTC')::date
{%- endmacro %}

{#-
    A `timestamptz` literal in UTC from an ISO-8601 text; a clear compile error otherwise.
-#}
{% macro sendgrid_timestamp_literal(value) -%}
    {%- set text = value | string | trim -%}
    {%- set dt = modules.datetime -%}
    {%- set pattern = '[0-9]{4}-[01][0-9]-[0-3][0-9]([T ][0-2][0-9]:[0-5][0-9](:[0-5][0-9]([.][0-9]{1,6})?)?)?([Zz]|[+-][0-2][0-9]:?[0-5][0-9])?' -%}
    {%- if not modules.re.fullmatch(pattern, text) -%}
        {{ exceptions.raise_compiler_error(
            "var sendgrid_as_of must be an ISO-8601 timestamp such as "
            ~ "2026-11-28T00:00:00Z, got '" ~ text ~ "'"
        ) }}
    {%- endif -%}
    {%- set parsed = dt.datetime.fromisoformat(
        text[:-1] ~ '+00:00' if text[-1:] in ('Z', 'z') else text
    ) -%}
    {%- if parsed.tzinfo is none -%}
        {%- set parsed = parsed.replace(tzinfo=modules.pytz.utc) -%}
    {%- endif -%}
    '{{ parsed.astimezone(modules.pytz.utc).strftime("%Y-%m-%d %H:%M:%S.%f") }}+00'::timestamptz
{%- endmacro %}

{#-
    A loader timestamp read at the as-of instant: times after it count as the as-of instant
    (the latest staging is the state at the as-of); null stays null.
-#}
{% macro sendgrid_at_most_as_of(value) -%}
    case
        when {{ value }} > {{ sendgrid_as_of() }} then {{ sendgrid_as_of() }}
        else {{ value }}
    end
{%- endmacro %}
