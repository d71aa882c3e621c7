{#- Spend in mart_channel_daily equals the ad platforms' staged rows converted per row at the
    day's rate to the cent. A row without a rate makes the expected figure null: fails. The
    platforms are every enabled ad vendor of the registry (var `smarketing_vendors`), each
    read from its own staging model, never through the union this test checks. -#}
with

platform_rows as (
    {% for vendor in enabled_vendors('ads') %}
        select
            {{ vendor.spend_column }} as amount,
            currency_code,
            date_day
        from {{ ref(vendor.spend_model) }}
        {% if not loop.last %}union all{% endif %}
    {% else %}
        select
            cast(null as decimal(18, 6)) as amount,
            cast(null as varchar) as currency_code,
            cast(null as date) as date_day
        where false
    {% endfor %}
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
