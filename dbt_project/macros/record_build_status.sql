{#-
    on-run-end hook: what each mart and report of the marts schema holds, for BI readers.

    One failing model stops only its dependants: dbt builds every other model, so after such
    a run some marts hold the new as-of and the models downstream of the failure still hold an
    earlier run's rows (a model whose own data test failed holds the new, failing rows). Each
    run upserts, per model it selected, one row of `<marts schema>.<sendgrid_build_status_table>`
    (`sendgrid_build_status`):

    * `last_run_status`: `success`, `tests_failed` (built, but one of its data tests failed or
      errored: the table holds those rows), `error` (not built) or `skipped` (not built: an
      upstream node failed);
    * `last_run_as_of_at`: the as-of instant of that run;
    * `data_as_of_at`: the as-of instant of the rows the table holds (the last run that built
      it), so `data_as_of_at < last_run_as_of_at` names a table left behind;
    * `is_current`: the rows passed the tests of the last run that built them and are as of
      the newest instant any table holds, so a table a partial run (`dbt build --select`, by
      hand) left at an earlier as-of than the tables it rebuilt is not current either.

    Models a run did not select keep their status and instants (only `is_current` is
    recomputed for every row); a run that selected no mart writes nothing. No wall-clock
    column: a
    run over the same staging and as-of writes the same rows.
-#}
{% macro record_build_status(results) %}
    {%- set marts_schema = var('sendgrid_marts_schema') -%}
    {%- if not execute -%}
        select 1
    {%- else -%}
        {%- set failed_tests = [] -%}
        {%- for result in results
            if result.node.resource_type == 'test' and result.status in ('fail', 'error') -%}
            {%- set attached = result.node.attached_node -%}
            {%- if attached -%}
                {%- do failed_tests.append(attached) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set rows = [] -%}
        {%- for result in results
            if result.node.resource_type == 'model' and result.node.schema == marts_schema -%}
            {%- set status = result.status | string -%}
            {%- if status == 'success' and result.node.unique_id in failed_tests -%}
                {%- set status = 'tests_failed' -%}
            {%- elif status not in ('success', 'skipped') -%}
                {%- set status = 'error' -%}
            {%- endif -%}
            {%- do rows.append((result.node.name, status)) -%}
        {%- endfor -%}
        {%- set table = adapter.quote(marts_schema) ~ '.'
            ~ adapter.quote(var('sendgrid_build_status_table')) -%}
        {%- if not rows -%}
        select 1
        {%- else %}
        {#- a first build whose marts all failed or were skipped has not created the schema -#}
        create schema if not exists {{ adapter.quote(marts_schema) }};
        create table if not exists {{ table }} (
            model_name text primary key,
            last_run_status text not null,
            last_run_as_of_at timestamptz,
            data_as_of_at timestamptz,
            is_current boolean not null
        );
        comment on table {{ table }} is
            'Per mart and report: the last transform run''s outcome and the as-of instant of '
            'the rows the table holds (macro record_build_status).';
        insert into {{ table }} as status
            (model_name, last_run_status, last_run_as_of_at, data_as_of_at, is_current)
        select
            built.model_name,
            built.last_run_status,
            run.as_of_at,
            case when built.last_run_status in ('success', 'tests_failed') then run.as_of_at end,
            built.last_run_status = 'success'
        from (
            values
            {%- for name, status in rows %}
                ({{ dbt.string_literal(name) }}, {{ dbt.string_literal(status) }})
                {{- ',' if not loop.last }}
            {%- endfor %}
        ) as built (model_name, last_run_status)
        cross join (select {{ sendgrid_as_of() }} as as_of_at) as run
        on conflict (model_name) do update set
            last_run_status = excluded.last_run_status,
            last_run_as_of_at = excluded.last_run_as_of_at,
            data_as_of_at = coalesce(excluded.data_as_of_at, status.data_as_of_at),
            is_current = excluded.is_current;
        {#- every row against the newest rows: a table another run left behind is not current -#}
        update {{ table }} as status
        set is_current = coalesce(
            status.last_run_status = 'success' and status.data_as_of_at = newest.as_of_at, false)
        from (select max(data_as_of_at) as as_of_at from {{ table }}) as newest
        {%- endif %}
    {%- endif -%}
{% endmacro %}
