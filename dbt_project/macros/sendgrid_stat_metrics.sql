{#- The 16 integer metrics of a SendGrid stats `metrics` object (docs/api-notes.md §4.2). -#}
{% macro sendgrid_metric_names() -%}
    {{ return([
        'requests', 'processed', 'delivered', 'opens', 'unique_opens', 'clicks',
        'unique_clicks', 'bounces', 'bounce_drops', 'blocks', 'deferred', 'spam_reports',
        'spam_report_drops', 'unsubscribes', 'unsubscribe_drops', 'invalid_emails'
    ]) }}
{%- endmacro %}

{% macro sendgrid_stat_metrics(metrics_json) -%}
    {%- for metric in sendgrid_metric_names() %}
        coalesce(({{ metrics_json }} ->> '{{ metric }}')::bigint, 0) as {{ metric }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}
