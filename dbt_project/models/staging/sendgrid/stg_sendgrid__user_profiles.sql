{#-
    The organization's profile (GET /v3/user/profile), one version per row. Only the company
    facts are kept: names, addresses and phone numbers of people stay in staging.
-#}
{% call stg_sendgrid_stream('user_profile', 'profile_version_id') %}
        ---------- strings
        nullif(trim(record ->> 'company'), '') as company_name,
        nullif(trim(record ->> 'country'), '') as country,
        nullif(trim(record ->> 'website'), '') as website
{%- endcall %}
