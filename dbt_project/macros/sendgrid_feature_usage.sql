{#-
    The current, not deleted records of one staging model, optionally narrowed by `where`
    (an SQL condition): the import CTE every feature-usage model starts from.
-#}
{% macro sendgrid_current_records(model, where=none) -%}
    select * from {{ ref(model) }}
    where is_current and not is_deleted{% if where %} and {{ where }}{% endif %}
{%- endmacro %}

{#-
    The feature-usage rows of one feature family: the union of its per-feature CTEs (each
    selecting tenant_id, feature_code, usage_count, last_activity_at, usage_limit and, when
    `with_emails_90d`, emails_90d), in the column types of `int_sendgrid__feature_usage`.
-#}
{% macro sendgrid_feature_usage_rows(ctes, with_emails_90d=false) -%}
    select
        tenant_id,
        feature_code,
        usage_count::bigint as usage_count,
        last_activity_at,
        usage_limit::bigint as usage_limit,
        {% if with_emails_90d -%}
            emails_90d::bigint as emails_90d
        {%- else -%}
            null::bigint as emails_90d
        {%- endif %}
    from (
        {% for cte in ctes -%}
            select * from {{ cte }}
            {% if not loop.last %}union all{% endif %}
        {% endfor -%}
    ) as unioned
{%- endmacro %}

{#-
    One import CTE of current records per `(cte_name, staging_model[, where])` entry, each
    followed by a comma: the head of a feature-usage model's `with` clause.
-#}
{% macro sendgrid_current_ctes(imports) -%}
    {%- for entry in imports %}
{{ entry[0] }} as (
    {{ sendgrid_current_records(entry[1], entry[2] if entry | length > 2 else none) }}
),
    {%- endfor %}
{%- endmacro %}
