{#-
    The reprocess window of fct_sendgrid_email_activity_daily's high-water mark, as a SQL
    interval: dbt var `sendgrid_activity_reprocess_minutes` (a number of minutes).

    Why a window: the loader's `extracted_at` is not the commit time. Rows written by the COPY
    fast path carry the start of their stream (the database clock when the stream began),
    upserted rows the start of their transaction, and an extract task commits batch after
    batch until it ends. A transform reading while a task is still committing sets the mark
    (the newest `extracted_at` it saw) past rows that commit later with an older
    `extracted_at`. Every row of a task is stamped after the task started and committed
    before its `execution_timeout` ends it, so a row committed after the transform read has
    an `extracted_at` later than the mark minus that timeout: reprocessing the rows above
    `mark - window`, with a window of at least the timeout, takes them. The default
    (dbt_project.yml) is the extract task's `execution_timeout`
    (sendgrid_elt.settings.EXTRACT_TASK_TIMEOUT, env SENDGRID_EXTRACT_TIMEOUT_MINUTES, default
    240) plus a 30-minute margin (a killed task's last commit, the task's start before its
    first stream); tests/transform/test_project_rules.py checks that they agree.
-#}
{% macro sendgrid_activity_reprocess_window() -%}
    {%- set text = var('sendgrid_activity_reprocess_minutes') | string | trim -%}
    {#- `modules` is dbt's; linters rendering the SQL without it get a placeholder. -#}
    {%- if modules is defined and not modules.re.fullmatch('[0-9]+([.][0-9]+)?', text) -%}
        {{ exceptions.raise_compiler_error(
            "var sendgrid_activity_reprocess_minutes must be a number of minutes, got '"
            ~ text ~ "'"
        ) }}
    {%- endif -%}
    (interval '1 minute' * {{ text if modules is defined else '270' }})
{%- endmacro %}
