{#- numerator / denominator as numeric, null (never an error) when the denominator is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }})::numeric / nullif(({{ denominator }})::numeric, 0)
{%- endmacro %}
