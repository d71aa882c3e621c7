{#- Attribution moves revenue, never creates or loses it: per model, the won deals' credits
    equal won revenue; per deal and model, credits sum to the deal's amount to the cent, and
    pipeline credits to its pipeline amount (the creation date's rate). -#}
with

won as (
    select coalesce(sum(won_revenue), 0) as amount from {{ ref('mart_channel_daily') }}
),

per_model as (
    select
        'model total' as problem,
        attribution_model,
        null as deal_id,
        sum(attributed_amount) filter (where deal_status = 'won') as observed,
        (select won.amount from won) as expected
    from {{ ref('fct_attribution') }}
    group by attribution_model
    having observed is distinct from expected
),

-- one pass over the credits per deal and model: revenue and pipeline credits beside the
-- deal's two amounts
per_deal_sums as (
    select
        f.attribution_model,
        f.deal_id,
        sum(f.attributed_amount) as credits,
        any_value(d.amount_reporting) as amount,
        sum(f.attributed_pipeline_amount) as pipeline_credits,
        any_value(d.pipeline_amount_reporting) as pipeline_amount
    from {{ ref('fct_attribution') }} as f
    inner join {{ ref('int_crm__deals') }} as d on f.deal_id = d.deal_id
    group by f.attribution_model, f.deal_id
),

per_deal as (
    select
        'deal credits' as problem,
        attribution_model,
        deal_id,
        credits as observed,
        amount as expected
    from per_deal_sums
    where credits <> amount
),

per_deal_pipeline as (
    select
        'deal pipeline credits' as problem,
        attribution_model,
        deal_id,
        pipeline_credits as observed,
        pipeline_amount as expected
    from per_deal_sums
    where pipeline_credits is distinct from pipeline_amount
),

performance as (
    select
        'performance mart models' as problem,
        null as attribution_model,
        null as deal_id,
        won_revenue as observed,
        (select won.amount from won) as expected
    from (
        select
            sum(revenue_first_touch) as first_touch,
            sum(revenue_last_touch) as last_touch,
            sum(revenue_linear) as linear,
            sum(revenue_u_shaped) as u_shaped,
            sum(revenue_w_shaped) as w_shaped,
            sum(revenue_time_decay) as time_decay,
            sum(won_revenue) as won_revenue
        from {{ ref('mart_channel_performance') }}
    )
    where
        won_revenue is distinct from (select won.amount from won)
        or first_touch <> won_revenue or last_touch <> won_revenue or linear <> won_revenue
        or u_shaped <> won_revenue or w_shaped <> won_revenue or time_decay <> won_revenue
)

select * from per_model
union all
select * from per_deal
union all
select * from per_deal_pipeline
union all
select * from performance
