{#-
    Evidence of use per tenant and feature, from the current (not deleted) records of the
    parent and its subusers: the union of the four feature families. One row per tenant and
    feature that has any evidence row; features without records are filled in by
    fct_sendgrid_feature_adoption.
-#}
{%- set families = ['sending', 'content', 'marketing', 'integrations'] %}
with
{% for family in families %}
    {{ family }} as (

        select * from {{ ref('int_sendgrid__feature_usage_' ~ family) }}

    ),
{% endfor %}
unioned as (
    {%- for family in families %}

        select
            tenant_id,
            feature_code,
            usage_count,
            last_activity_at,
            usage_limit,
            emails_90d
        from {{ family }}
        {%- if not loop.last %}

            union all
        {%- endif %}
    {%- endfor %}

)

select * from unioned
