{#-
    Custom schema names are used as-is (sendgrid_dbt_staging, not <target schema>_...), except
    the role `marts` (marts and reporting models): it is the schema named by the var
    `sendgrid_marts_schema` (default sendgrid_marts), a name the pipeline owns and passes in.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}
        {{ var('sendgrid_marts_schema') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
