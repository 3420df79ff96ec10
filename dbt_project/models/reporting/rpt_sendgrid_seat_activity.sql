{#-
    Dashboard: the "Subusers" card and the seat activity facts: per tenant and kind of seat
    (teammate, subuser) at the as-of instant, seats in total and enabled, active and inactive
    in the 30/60/90 days ending on the as-of day (null while any seat's activity is unknown),
    and seats whose activity is unknown (the API does not expose teammates'; a subuser's needs
    its stats readable); counted the same way for both kinds (macro
    sendgrid_seat_activity_counts).
    Teammates exclude the owner (not a seat). Subusers add their credit allocations.

    Unknown is never zero: a kind whose list is not read through the as-of day (teammates for
    teammates, subusers for subusers; int_sendgrid__stream_readability, as
    fct_sendgrid_seat_utilization) has null counts: the seats an earlier key listed are not
    the seats at the as-of.
-#}
with

seat_activity as (

    select * from {{ ref('fct_sendgrid_seat_activity') }}
    where counts_as_seat

),

readability as (

    select * from {{ ref('int_sendgrid__stream_readability') }}
    where stream_name in ('teammates', 'subusers')

),

membership as (

    -- whether the stream listing each kind of seat covers the as-of day
    select
        tenant_id,
        case stream_name when 'teammates' then 'teammate' else 'subuser' end as seat_kind,
        coalesce(covered_through_date >= {{ sendgrid_as_of_date() }}, false) as is_known
    from readability

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
        md5(kinds.tenant_id || '|' || kinds.seat_kind)::text as seat_kind_id,
        kinds.tenant_id::text as tenant_id,
        kinds.seat_kind::text as seat_kind,
        {%- set known = 'coalesce(membership.is_known, false)' %}
        (case when {{ known }} then kinds.seats_total end)::integer as seats_total,
        (case when {{ known }} then kinds.seats_enabled end)::integer as seats_enabled,
        {%- for days in var('sendgrid_seat_activity_windows') %}
            -- null while some seat's activity is unknown (teammates': always): never a false 0
            (case
                when {{ known }} and kinds.seats_activity_unknown = 0
                    then kinds.seats_active_{{ days }}d
            end)::integer as seats_active_{{ days }}d,
            (case
                when {{ known }} and kinds.seats_activity_unknown = 0
                    then kinds.seats_inactive_{{ days }}d
            end)::integer as seats_inactive_{{ days }}d,
        {%- endfor %}
        kinds.seats_activity_unknown::integer as seats_activity_unknown,
        round(
            case
                when {{ known }} and kinds.seats_activity_unknown = 0
                    then {{ safe_divide('kinds.seats_active_30d', 'kinds.seats_total') }}
            end,
            4
        ) as active_30d_share,
        (case when {{ known }} then kinds.limited_credit_seats end)::integer
            as limited_credit_seats,
        (case when {{ known }} then kinds.credits_allocated end)::bigint as credits_allocated,
        {{ sendgrid_as_of() }} as as_of_at
    from kinds
    left join membership
        on kinds.tenant_id = membership.tenant_id and kinds.seat_kind = membership.seat_kind

)

{{ sendgrid_select_with_tenant_flags('final') }}
