{#- Won revenue is one figure at every grain: the marketing grain (mart_channel_daily), the
    deals (fct_deals), the accounts, the monthly bookings, every attribution model of the
    performance mart, and the CRM's won deals recomputed from staging (per deal, at the close
    day's rate, to the cent, as dbt converts). A deal without a rate makes the CRM figure null:
    the test then fails, never skips it. -#}
with

daily as (
    select coalesce(sum(won_revenue), 0) as amount from {{ ref('mart_channel_daily') }}
),

deals as (
    select coalesce(sum(amount_reporting), 0) as amount
    from {{ ref('fct_deals') }}
    where won_at is not null
),

accounts as (
    select coalesce(sum(won_revenue), 0) as amount from {{ ref('mart_account_journey') }}
),

bookings as (
    select coalesce(sum(bookings), 0) as amount from {{ ref('mart_revenue_summary') }}
),

crm as (
    select
        case
            when count(
                *) filter (
                where rate.units_per_eur is null
                or reporting.units_per_eur is null
            ) > 0 then null
            else coalesce(sum({{ to_reporting_currency('deals.amount', 'rate', 'reporting') }}), 0)
        end as amount
    from {{ ref('stg_hubspot__deals') }} as deals
    {{ join_exchange_rates('deals.currency_code', 'deals.closed_at', 'rate', 'reporting') }}
    where deals.deal_stage = 'closedwon'
),

figures as (
    select
        'fct_deals' as figure,
        deals.amount as observed
    from deals
    union all
    select
        'mart_account_journey',
        amount
    from accounts
    union all
    select
        'mart_revenue_summary.bookings',
        amount
    from bookings
    union all
    select
        'CRM won deals (stg_hubspot__deals)',
        amount
    from crm
)

select
    figures.figure,
    figures.observed,
    daily.amount as expected_mart_channel_daily
from figures, daily
where figures.observed is distinct from daily.amount
