{#- amount (decimal) in `currency` on `day` -> reporting currency, through the euro, rounded
    to the cent. Expects stg_fx__daily_rates joined twice: `rate_alias` for the amount's
    currency and `reporting_rate_alias` for the reporting currency, both on the same day.
    The factor is cast to 10 decimals; smarketing.fx.DailyRates and the gate compute the same. -#}
{% macro to_reporting_currency(amount, rate_alias, reporting_rate_alias) -%}
    cast(round(
        cast({{ amount }} as decimal(38, 6))
        * cast({{ reporting_rate_alias }}.units_per_eur / {{ rate_alias }}.units_per_eur as decimal(38, 10)),
        2
    ) as decimal(18, 2))
{%- endmacro %}

{% macro join_exchange_rates(currency, day, rate_alias, reporting_rate_alias) -%}
    left join {{ ref('stg_fx__daily_rates') }} as {{ rate_alias }}
        on {{ rate_alias }}.currency_code = upper({{ currency }})
        and {{ rate_alias }}.rate_date = cast({{ day }} as date)
    left join {{ ref('stg_fx__daily_rates') }} as {{ reporting_rate_alias }}
        on {{ reporting_rate_alias }}.currency_code = upper('{{ var("reporting_currency") }}')
        and {{ reporting_rate_alias }}.rate_date = cast({{ day }} as date)
{%- endmacro %}
