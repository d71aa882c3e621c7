{#- amount (decimal) in `currency` on `day` -> reporting currency, rounded to the cent.
    Expects the seed joined twice: `rate_alias` for the amount's currency and
    `reporting_rate_alias` for the reporting currency, both on the same day. -#}
{% macro to_reporting_currency(amount, rate_alias, reporting_rate_alias) -%}
    cast(round(
        cast({{ amount }} as decimal(38, 6))
        * cast({{ rate_alias }}.usd_per_unit / {{ reporting_rate_alias }}.usd_per_unit as decimal(38, 8)),
        2
    ) as decimal(18, 2))
{%- endmacro %}

{% macro join_exchange_rates(currency, day, rate_alias, reporting_rate_alias) -%}
    left join {{ ref('exchange_rates') }} as {{ rate_alias }}
        on {{ rate_alias }}.currency_code = {{ currency }}
        and {{ rate_alias }}.rate_date = cast({{ day }} as date)
    left join {{ ref('exchange_rates') }} as {{ reporting_rate_alias }}
        on {{ reporting_rate_alias }}.currency_code = '{{ var("reporting_currency") }}'
        and {{ reporting_rate_alias }}.rate_date = cast({{ day }} as date)
{%- endmacro %}
