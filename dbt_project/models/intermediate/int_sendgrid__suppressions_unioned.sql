{#- The five suppression lists of the parent and its subusers, one row per entry. -#}
with

{% set lists = ['bounces', 'blocks', 'spam_reports', 'invalid_emails', 'unsubscribes'] %}
{%- for list_name in lists %}
    {{ list_name }} as (

        select * from {{ ref('stg_sendgrid__' ~ list_name) }}

    ),

{% endfor -%}
unioned as (
    {%- for list_name in lists %}

        select
            tenant_id,
            subuser,
            email,
            suppression_kind,
            created_at
        from {{ list_name }}
        {%- if not loop.last %}

            union all
        {%- endif %}
    {%- endfor %}

)

select * from unioned
