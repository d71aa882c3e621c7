{#- Spend in mart_channel_daily equals the ad platforms' staged rows converted per row at the
    day's rate to the cent. A row without a rate makes the expected figure null: fails. -#}
with

platform_rows as (
    select
        cost as amount,
        currency_code,
        date_day
    from {{ ref('stg_google_ads__campaign_stats') }}
    union all
    select
        spend,
        currency_code,
        date_day
    from {{ ref('stg_meta_ads__insights') }}
),

expected as (
    select
        case
            when count(
                *) filter (
                where rate.units_per_eur is null
                or reporting.units_per_eur is null
            ) > 0 then null
            else
                coalesce(
                    sum({{ to_reporting_currency('platform_rows.amount', 'rate', 'reporting') }}), 0
                )
        end as spend
    from platform_rows
    {{ join_exchange_rates(
        'platform_rows.currency_code', 'platform_rows.date_day', 'rate', 'reporting'
    ) }}
),

observed as (
    select coalesce(sum(spend), 0) as spend from {{ ref('mart_channel_daily') }}
)

select
    observed.spend as observed,
    expected.spend as expected
from observed, expected
where observed.spend is distinct from expected.spend
