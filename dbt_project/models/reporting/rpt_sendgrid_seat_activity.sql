{#-
    Dashboard: the "Subusers" card and the seat activity facts: per tenant and kind of seat
    (teammate, subuser) at the as-of instant, seats in total and enabled, active and inactive
    in the 30/60/90 days ending on the as-of day (null while any seat's activity is unknown),
    and seats whose activity is unknown (the API does not expose teammates'; a subuser's needs
    its stats readable); counted the same way for both kinds (macro
    sendgrid_seat_activity_counts).
    Teammates exclude the owner (not a seat). Subusers add their credit allocations.
-#}
with

seat_activity as (

    select * from {{ ref('fct_sendgrid_seat_activity') }}
    where counts_as_seat

),

kinds as (

    select
        tenant_id,
        seat_kind,
        {{ sendgrid_seat_activity_counts('seats') }},
        count(*) filter (where credit_type in ('recurring', 'nonrecurring'))
            as limited_credit_seats,
        sum(credits_total) as credits_allocated
    from seat_activity
    group by 1, 2

),

final as (

    select
        md5(tenant_id || '|' || seat_kind)::text as seat_kind_id,
        tenant_id::text as tenant_id,
        seat_kind::text as seat_kind,
        seats_total::integer as seats_total,
        seats_enabled::integer as seats_enabled,
        {%- for days in var('sendgrid_seat_activity_windows') %}
            -- null while some seat's activity is unknown (teammates': always): never a false 0
            (case when seats_activity_unknown = 0 then seats_active_{{ days }}d end)::integer
                as seats_active_{{ days }}d,
            (case when seats_activity_unknown = 0 then seats_inactive_{{ days }}d end)::integer
                as seats_inactive_{{ days }}d,
        {%- endfor %}
        seats_activity_unknown::integer as seats_activity_unknown,
        round(
            case
                when seats_activity_unknown = 0
                    then {{ safe_divide('seats_active_30d', 'seats_total') }}
            end,
            4
        ) as active_30d_share,
        limited_credit_seats::integer as limited_credit_seats,
        credits_allocated::bigint as credits_allocated,
        {{ sendgrid_as_of() }} as as_of_at
    from kinds

)

{{ sendgrid_select_with_tenant_flags('final') }}
