{#- Month: bookings (won revenue), pipeline created, win rate, average deal size and sales
    cycle, at the sales grain (every deal, in the reporting currency). A month appears when
    a deal was created, won or lost in it. -#}
with

deals as (

    select * from {{ ref('fct_deals') }}

),

created as (

    select
        cast(date_trunc('month', opportunity_at) as date) as month,
        count(*) as opportunities_created,
        sum(pipeline_amount_reporting) as pipeline_created,
        -- deals without an amount: pipeline of unknown value, counted, never valued at zero
        count(*) filter (where not is_priced) as unpriced_opportunities_created
    from deals
    group by all

),

closed as (

    select
        cast(date_trunc('month', closed_at) as date) as month,
        count(won_at) as won_deals,
        count(lost_at) as lost_deals,
        sum(amount_reporting) filter (where won_at is not null) as bookings,
        avg(sales_cycle_days) filter (where won_at is not null) as avg_sales_cycle_days,
        median(sales_cycle_days) filter (where won_at is not null) as median_sales_cycle_days
    from deals
    where won_at is not null or lost_at is not null
    group by all

),

spine as (

    select month from created
    union
    select month from closed

),

final as (

    select
        spine.month,
        cast(coalesce(closed.bookings, 0) as decimal(18, 2)) as bookings,
        cast(coalesce(closed.won_deals, 0) as bigint) as won_deals,
        cast(coalesce(closed.lost_deals, 0) as bigint) as lost_deals,
        cast(coalesce(created.opportunities_created, 0) as bigint) as opportunities_created,
        cast(coalesce(created.pipeline_created, 0) as decimal(18, 2)) as pipeline_created,
        cast(coalesce(created.unpriced_opportunities_created, 0) as bigint)
            as unpriced_opportunities_created,
        cast(closed.won_deals / nullif(closed.won_deals + closed.lost_deals, 0) as double)
            as win_rate,
        cast(closed.bookings / nullif(closed.won_deals, 0) as decimal(18, 2)) as average_deal_size,
        cast(closed.avg_sales_cycle_days as decimal(10, 2)) as avg_sales_cycle_days,
        cast(closed.median_sales_cycle_days as decimal(10, 2)) as median_sales_cycle_days

    from spine
    left join created using (month)
    left join closed using (month)

)

select * from final
