{#-
    on-run-end hook: give BI tools a read-only role on the marts schema.

    Creates the NOLOGIN role `var('sendgrid_bi_reader_role')` (default `sendgrid_bi_reader`)
    when it does not exist, then grants USAGE on the marts schema (`var('sendgrid_marts_schema')`)
    and SELECT on every table in it (marts and rpt_ reporting models) (re-run after each build, since dbt recreates tables). Log-in users for dashboards are
    members of it: `create role metabase login password '...' in role sendgrid_bi_reader;`.
    When the dbt user may not create roles or grant, the hook only logs a notice: a missing
    grant never fails the pipeline. Set the var to '' to switch the hook off.
-#}
{% macro grant_bi_reader(schemas) %}
    {%- set role = var('sendgrid_bi_reader_role', '') -%}
    {%- set marts_schema = var('sendgrid_marts_schema') -%}
    {%- if execute and role and marts_schema in schemas %}
        do $grant$
        begin
            if not exists (select from pg_roles where rolname = '{{ role }}') then
                begin
                    create role {{ adapter.quote(role) }} nologin;
                exception
                    when duplicate_object or unique_violation then null;
                end;
            end if;
            grant usage on schema {{ adapter.quote(marts_schema) }}
                to {{ adapter.quote(role) }};
            grant select on all tables in schema {{ adapter.quote(marts_schema) }}
                to {{ adapter.quote(role) }};
        exception
            when insufficient_privilege then
                raise notice 'sendgrid_bi_reader: no privilege to create/grant role %',
                    '{{ role }}';
        end
        $grant$;
    {%- else %}
        select 1
    {%- endif %}
{% endmacro %}
