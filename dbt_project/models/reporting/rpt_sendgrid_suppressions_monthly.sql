{#-
    Dashboard: the "Suppressions" chart and totals: new entries per month and kind for the
    12 months ending with the as-of month, and the running total to date; the as-of month's
    row (`is_as_of_month`) holds the totals shown under the chart.
-#}
with

suppressions as (

    select * from {{ ref('fct_sendgrid_suppressions_monthly') }}
    where
        suppression_month
        > (date_trunc('month', {{ sendgrid_as_of_date() }}) - interval '12 months')::date

),

final as (

    select
        suppression_month_id::text as suppression_month_id,
        tenant_id::text as tenant_id,
        suppression_month::date as suppression_month,
        suppression_kind::text as suppression_kind,
        new_suppressions::bigint as new_suppressions,
        cumulative_suppressions::bigint as cumulative_suppressions,
        (suppression_month = date_trunc('month', {{ sendgrid_as_of_date() }})::date)::boolean
            as is_as_of_month,
        {{ sendgrid_as_of() }} as as_of_at
    from suppressions

)

{{ sendgrid_select_with_tenant_flags('final') }}
