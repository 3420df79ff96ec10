{#-
    Normalise any SendGrid timestamp (given as text, e.g. `record ->> 'created'`) to a UTC
    timestamptz. Formats seen in the API (docs/api-notes.md §1):
      * Unix epoch seconds (integer or decimal; millisecond values are detected and scaled),
      * `YYYY-MM-DD` (stats dates, credit resets) -> midnight UTC,
      * `YYYY-MM-DD HH:MM:SS` without zone (templates) -> read as UTC,
      * ISO 8601 with `Z` or an offset (single sends, segments, webhooks) -> converted to UTC,
        ISO 8601 without zone -> read as UTC.
    Anything else (empty string, garbage) becomes null instead of failing the model.
-#}
{% macro sendgrid_to_utc(value) -%}
    case
        when trim({{ value }}) ~ '^-?[0-9]+(\.[0-9]+)?$'
            then to_timestamp(
                case
                    when abs(trim({{ value }})::numeric) >= 100000000000
                        then trim({{ value }})::numeric / 1000
                    else trim({{ value }})::numeric
                end
            )
        when
            trim({{ value }})
            ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$'
            then trim({{ value }})::timestamp at time zone 'UTC'
        when
            trim({{ value }})
            ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$'
            then trim({{ value }})::timestamptz
    end
{%- endmacro %}
