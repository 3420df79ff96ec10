{#-
    The last select of a per-tenant report: every column of `relation` (a CTE with a
    `tenant_id`) and the tenant's `is_counted_in_totals` and `is_removed`, as
    dim_sendgrid_tenants (their one owner) holds them. A BI sum across tenants takes only the
    rows where `is_counted_in_totals`: a second connection to the same account, a subuser of
    another connected tenant (whose figures include it) and a removed connection are false.
-#}
{% macro sendgrid_select_with_tenant_flags(relation) -%}
    select
        {{ relation }}.*,
        tenant_flags.is_counted_in_totals::boolean as is_counted_in_totals,
        tenant_flags.is_removed::boolean as is_removed
    from {{ relation }}
    left join {{ ref('dim_sendgrid_tenants') }} as tenant_flags
        on {{ relation }}.tenant_id = tenant_flags.tenant_id
{%- endmacro %}
