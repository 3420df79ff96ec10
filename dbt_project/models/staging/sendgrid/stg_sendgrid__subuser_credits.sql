{#-
    The credit allocation of each subuser (GET /v3/subusers/{name}/credits): `recurring`
    (total per period), `nonrecurring` (a balance) or `unlimited` (no limit, nulls).
-#}
{% call stg_sendgrid_stream('subuser_credits', 'subuser_credits_version_id', keep_subuser=false) %}
        coalesce(nullif(subuser, ''), record_key) as subuser_username,

        ---------- strings
        record ->> 'type' as credit_type,
        record ->> 'reset_frequency' as reset_frequency,

        ---------- numerics
        (record ->> 'total')::bigint as credits_total,
        (record ->> 'used')::bigint as credits_used,
        (record ->> 'remain')::bigint as credits_remain
{%- endcall %}
