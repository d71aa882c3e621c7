{#- Multi-touch attribution of every won deal and open opportunity to the marketing touches
    of every contact of its buying group (each touch once) in the lookback window before the opportunity was created. For each deal
    and model the credits sum to the deal amount exactly, to the cent: each touch gets the
    floor of its share in cents and the leftover cents go, one each, to the largest
    remainders (ties: earlier touch first, then touch id). A deal with no touch in the window
    gets one `unattributed` row, so revenue never disappears. The deal's pipeline value (at
    the creation date's rate) is allocated the same way beside it: for a deal closed in
    another currency the two differ by the rates of the two days.

    With var attribution_skip_direct (Google Analytics' convention, off by default) a direct
    visit that follows a non-direct touch of the deal is passed over by the position models
    (first touch, last touch, U- and W-shaped): they place their credit among the other
    touches as if it were not there, and it gets none. Linear and time decay still credit
    every touch. -#}
{%- set lookback_days = var('attribution_lookback_days', 90) -%}
{%- set half_life_days = var('attribution_half_life_days', 7) -%}
{%- set skip_direct = var('attribution_skip_direct', false) | string | lower in ('true', '1', 'yes') -%}

with

deals as (

    select * from {{ ref('int_crm__deals') }}

),

leads as (

    select * from {{ ref('int_crm__leads') }}

),

deal_contacts as (

    select * from {{ ref('int_crm__deal_contacts') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints') }}
    where team = 'marketing'

),

-- the marketing touches of every contact of the deal's buying group, each touch once
deal_touches as (

    select distinct
        deal_contacts.deal_id,
        touchpoints.touchpoint_id,
        touchpoints.touched_at,
        touchpoints.touch_type,
        touchpoints.channel,
        touchpoints.campaign

    from deal_contacts
    inner join touchpoints
        on deal_contacts.contact_id = touchpoints.contact_id

),

attributable_deals as (

    select
        deals.deal_id,
        deals.contact_id,
        deals.created_at as opportunity_at,
        deals.won_at,
        case when deals.won_at is not null then 'won' else 'open' end as deal_status,
        '{{ var("reporting_currency") }}' as currency_code,
        -- allocated in the reporting currency, so every model sums to won revenue exactly
        cast(round(deals.amount_reporting * 100) as bigint) as amount_cents,
        -- and as pipeline, at the creation date's rate, so it never moves when the deal closes
        cast(round(deals.pipeline_amount_reporting * 100) as bigint) as pipeline_cents,
        leads.lead_at

    from deals
    left join leads
        on deals.contact_id = leads.contact_id
    where deals.lost_at is null
    -- an open deal without amount has no value to attribute yet (unpriced pipeline)
    and deals.amount_reporting is not null

),

eligible as (

    select
        attributable_deals.*,
        touchpoints.touchpoint_id,
        touchpoints.touched_at,
        touchpoints.touch_type,
        coalesce(touchpoints.channel, 'unattributed') as channel,
        touchpoints.campaign

    from attributable_deals
    left join deal_touches as touchpoints
        on
            attributable_deals.deal_id = touchpoints.deal_id
            and attributable_deals.opportunity_at >= touchpoints.touched_at
            and touchpoints.touched_at
            >= attributable_deals.opportunity_at - to_days({{ lookback_days }})

),

-- a direct visit after a non-direct touch of the deal, when the position models skip it
skippable as (

    select
        *,
        {% if skip_direct -%}
            coalesce(
                channel = 'direct'
                and count(case when channel <> 'direct' then 1 end) over (
                    partition by deal_id
                    order by touched_at, touchpoint_id
                    rows between unbounded preceding and 1 preceding
                ) > 0,
                false
            )
        {%- else -%}
            false
        {%- endif %} as is_skipped_direct

    from eligible

),

positioned as (

    select
        *,
        count(touchpoint_id) over (partition by deal_id) as n_touches,
        -- the position models place their credit among the touches not skipped
        count(case when not is_skipped_direct then touchpoint_id end)
            over (partition by deal_id)
            as n_placed,
        row_number() over (
            partition by deal_id, is_skipped_direct
            order by touched_at, touchpoint_id
        ) as touch_position,
        -- the lead-creation touch: the last placed touch at or before the lead date
        count(case when touched_at <= lead_at and not is_skipped_direct then 1 end)
            over (partition by deal_id)
            as lead_touch_position

    from skippable

),

keyed as (

    select
        *,
        -- W-shaped roles: first touch, lead-creation touch, opportunity-creation (last) touch
        (case when touch_position = 1 then 1 else 0 end)
        + (case when touch_position = greatest(lead_touch_position, 1) then 1 else 0 end)
        + (case when touch_position = n_placed then 1 else 0 end) as w_roles,
        (case
            when n_placed = 0 then 0 else
                1
                + (
                    case
                        when greatest(lead_touch_position, 1) not in (1, n_placed) then 1 else 0
                    end
                )
                + (case when n_placed > 1 then 1 else 0 end)
        end) as w_key_positions,
        pow(
            0.5,
            coalesce(epoch(opportunity_at) - epoch(touched_at), 0)
            / (86400.0 * {{ half_life_days }})
        ) as decay_raw

    from positioned

),

weighted as (

    select
        *,
        case
            when is_skipped_direct then 0.0
            when n_placed = 0 then 1.0
            when touch_position = 1 then 1.0
            else 0.0
        end as w_first_touch,
        case
            when is_skipped_direct then 0.0
            when n_placed = 0 then 1.0
            when touch_position = n_placed then 1.0
            else 0.0
        end as w_last_touch,
        case when n_touches = 0 then 1.0 else 1.0 / n_touches end as w_linear,
        case
            when is_skipped_direct then 0.0
            when n_placed <= 1 then 1.0
            when n_placed = 2 then 0.5
            when touch_position in (1, n_placed) then 0.4
            else 0.2 / (n_placed - 2)
        end as w_u_shaped,
        case
            when is_skipped_direct then 0.0
            when n_placed = 0 then 1.0
            when w_roles > 0
                then
                    0.3 * w_roles
                    + case when n_placed = w_key_positions then 0.1 / w_key_positions else 0 end
            else 0.1 / (n_placed - w_key_positions)
        end as w_w_shaped,
        case
            when n_touches = 0 then 1.0 else
                decay_raw / sum(decay_raw) over (partition by deal_id)
        end as w_time_decay

    from keyed

),

by_model as (

    unpivot weighted
    on w_first_touch, w_last_touch, w_linear, w_u_shaped, w_w_shaped, w_time_decay
    into name model value credit_weight

),

cents as (

    select
        *,
        floor(round(amount_cents * credit_weight, 6)) as base_cents,
        round(amount_cents * credit_weight, 6)
        - floor(round(amount_cents * credit_weight, 6)) as remainder,
        floor(round(pipeline_cents * credit_weight, 6)) as pipeline_base_cents,
        round(pipeline_cents * credit_weight, 6)
        - floor(round(pipeline_cents * credit_weight, 6)) as pipeline_remainder

    from by_model

),

allocated as (

    select
        *,
        amount_cents - sum(base_cents) over (partition by deal_id, model) as leftover_cents,
        row_number() over (
            partition by deal_id, model
            order by remainder desc, touched_at asc nulls last, touchpoint_id asc
        ) as remainder_rank,
        pipeline_cents
        - sum(pipeline_base_cents) over (partition by deal_id, model) as pipeline_leftover_cents,
        row_number() over (
            partition by deal_id, model
            order by pipeline_remainder desc, touched_at asc nulls last, touchpoint_id asc
        ) as pipeline_remainder_rank

    from cents

),

final as (

    select
        deal_id,
        contact_id as lead_id,
        substr(model, 3) as attribution_model,  -- w_<model> -> <model>
        coalesce(touchpoint_id, 'unattributed:' || deal_id) as touchpoint_id,
        touched_at,
        touch_type,
        channel,
        campaign,
        deal_status,
        opportunity_at,
        won_at,
        cast(credit_weight as double) as credit_weight,
        cast(
            (base_cents + case when remainder_rank <= leftover_cents then 1 else 0 end) / 100
            as decimal(18, 2)
        ) as attributed_amount,
        cast(
            (
                pipeline_base_cents
                + case when pipeline_remainder_rank <= pipeline_leftover_cents then 1 else 0 end
            ) / 100
            as decimal(18, 2)
        ) as attributed_pipeline_amount,
        currency_code

    from allocated

)

select * from final
