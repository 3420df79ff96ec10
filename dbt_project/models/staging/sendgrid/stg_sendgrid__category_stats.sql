{#- One row per tenant, account, category and day (record key `date|category`). -#}
{{ stg_sendgrid_named_stats('category_stats', 'category_stat_id', 'category_name') }}
