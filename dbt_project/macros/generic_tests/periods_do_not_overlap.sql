{#-
    Fails for every period that ends after the next period of the same `partition_by` starts
    (periods are [start, end): the next one may start on the day this one ends).
-#}
{% test periods_do_not_overlap(model, partition_by, start_column, end_column) %}
    with

    ordered as (

        select
            {{ partition_by }} as partition_value,
            {{ start_column }} as period_start,
            {{ end_column }} as period_end,
            lead({{ start_column }}) over (
                partition by {{ partition_by }} order by {{ start_column }}
            ) as next_period_start
        from {{ model }}

    )

    select *
    from ordered
    where period_end > next_period_start
{% endtest %}
