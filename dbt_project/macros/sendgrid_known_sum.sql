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

{#-
    The sum of `expr` over the rows where `condition` holds whose `expr` is known: the known
    part of a total, read with a count of the rows left out (`count(*) filter (where
    condition and expr is null)`). 0 when no row holds `condition`; null when rows do but
    none is known (never a $0.00 standing for amounts nobody knows).
-#}
{% macro sendgrid_known_part_sum(expr, condition) -%}
    case
        when
            count(*) filter (where {{ condition }}) = 0
            or count({{ expr }}) filter (where {{ condition }}) > 0
            then coalesce(sum({{ expr }}) filter (where {{ condition }}), 0)
    end
{%- endmacro %}
