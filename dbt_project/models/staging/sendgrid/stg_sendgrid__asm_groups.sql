{#- Unsubscribe groups (GET /v3/asm/groups) of the parent and its subusers. -#}
{% call stg_sendgrid_stream('asm_groups', 'asm_group_version_id') %}
        record ->> 'id' as asm_group_id,

        ---------- strings
        record ->> 'name' as asm_group_name,

        ---------- numerics
        coalesce((record ->> 'unsubscribes')::bigint, 0) as unsubscribe_count,

        ---------- booleans
        coalesce((record ->> 'is_default')::boolean, false) as is_default
{%- endcall %}
