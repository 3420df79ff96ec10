{#-
    The sum of `expr` over the rows where `condition` holds, and unknown (null) as soon as one
    of those rows has a null `expr`: a total of money is never a partial sum (0 over no rows).
-#}
{% macro sendgrid_known_sum(expr, condition) -%}
    case
        when count(*) filter (where {{ condition }}) = count({{ expr }}) filter (where {{ condition }})
            then coalesce(sum({{ expr }}) filter (where {{ condition }}), 0)
    end
{%- endmacro %}
