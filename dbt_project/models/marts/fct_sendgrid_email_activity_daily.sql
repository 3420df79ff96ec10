{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'sender_type', 'subuser_username', 'activity_date'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns'
    )
}}

{#-
    Incremental: a run only reprocesses the sender-days the loader wrote since the previous
    run: new days, plus the recent days the extractor re-pulls with its lookback because late
    opens and clicks change them. "Since" is `source_extracted_at` above the table's
    high-water mark (its newest `source_extracted_at`) less a reprocess window (var
    `sendgrid_activity_reprocess_minutes`, macro sendgrid_activity_reprocess_window): the
    loader's extracted_at is the start of a stream or transaction, not the commit, so rows an
    extract task commits after a run read staging can be older than that run's mark. The
    window (the extract task's timeout + a margin) retakes them; rows within it that did not
    change are rewritten identical (delete+insert on the unique key), only `dbt_updated_at`
    moves. `dbt_updated_at` is the as-of instant of the run that wrote the row (no wall
    clock).
    Days after the as-of day are left out: the extractor asks /v3/stats without an end date,
    so staging holds the partial day of the extraction ("today"). Such a day loaded before it
    was the as-of day is no longer within the reprocess window when it becomes one, so a run
    also takes every day after the last day the table holds.

    A day read only in part (a run loaded the first minutes of "today", then the tenant's
    extraction failed) is a row like any other: whether a day is complete changes with the
    tenant's coverage, not with this row, so rpt_sendgrid_deliverability_daily flags it
    (`is_complete_day`) against the coverage of each run. `delivery_rate` can exceed 1: mail
    deferred one day is delivered (and counted) the next.
    Per sender and day, for every connection: a sum across tenants takes only the tenants
    dim_sendgrid_tenants.is_counted_in_totals (a stored flag of identity would go stale in
    this incremental table; the rpt_ models carry it).
-#}

with

activity as (

    select * from {{ ref('int_sendgrid__sender_activity_daily') }}
    where
        activity_date <= {{ sendgrid_as_of_date() }}
        {% if is_incremental() %}
            and (
                source_extracted_at > (
                    select coalesce(max(this.source_extracted_at), '-infinity'::timestamptz)
                    from {{ this }} as this
                ) - {{ sendgrid_activity_reprocess_window() }}
                or activity_date > (
                    select coalesce(max(this.activity_date), '-infinity'::date)
                    from {{ this }} as this
                )
            )
        {% endif %}

),

final as (

    select
        md5(
            tenant_id || '|' || sender_type || '|' || subuser_username || '|'
            || activity_date::text
        )::text as activity_day_id,
        tenant_id::text as tenant_id,
        sender_type::text as sender_type,
        subuser_username::text as subuser_username,
        sender_username::text as sender_username,
        activity_date::date as activity_date,
        requests::bigint as requests,
        processed::bigint as processed,
        delivered::bigint as delivered,
        opens::bigint as opens,
        unique_opens::bigint as unique_opens,
        clicks::bigint as clicks,
        unique_clicks::bigint as unique_clicks,
        bounces::bigint as bounces,
        blocks::bigint as blocks,
        deferred::bigint as deferred,  -- noqa: RF04
        spam_reports::bigint as spam_reports,
        unsubscribes::bigint as unsubscribes,
        invalid_emails::bigint as invalid_emails,
        (bounce_drops + spam_report_drops + unsubscribe_drops)::bigint as drops,
        round({{ safe_divide('delivered', 'requests') }}, 6) as delivery_rate,
        round({{ safe_divide('unique_opens', 'delivered') }}, 6) as unique_open_rate,
        round({{ safe_divide('unique_clicks', 'delivered') }}, 6) as unique_click_rate,
        round({{ safe_divide('bounces', 'requests') }}, 6) as bounce_rate,
        round({{ safe_divide('blocks', 'requests') }}, 6) as block_rate,
        round({{ safe_divide('spam_reports', 'delivered') }}, 6) as spam_report_rate,
        round({{ safe_divide('unsubscribes', 'delivered') }}, 6) as unsubscribe_rate,
        source_extracted_at::timestamptz as source_extracted_at,
        {{ sendgrid_as_of() }}::timestamptz as dbt_updated_at
    from activity

)

select * from final
