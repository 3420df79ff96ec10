{#- Text of figures for the sentences the reporting models carry (same format everywhere). -#}

{#- 1234567 -> '1,234,567' -#}
{% macro sendgrid_format_int(value) -%}
    to_char({{ value }}, 'FM999,999,999,999,990')
{%- endmacro %}

{#- 1234.5 -> '$1,234.50' (the sign is the caller's business: pass a non-negative value) -#}
{% macro sendgrid_format_usd(value) -%}
    ('$' || to_char({{ value }}, 'FM999,999,999,990.00'))
{%- endmacro %}

{#- a date -> 'YYYY-MM-DD' -#}
{% macro sendgrid_format_date(value) -%}
    to_char({{ value }}, 'YYYY-MM-DD')
{%- endmacro %}
