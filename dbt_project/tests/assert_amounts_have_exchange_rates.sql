{#- A missing exchange rate would turn an amount into null and drop it from every sum: fail
    instead. Returns every spend or deal row whose currency has no rate for its day. -#}
with

spend as (

    select 'spend' as kind, platform || ':' || campaign_id || ':' || date_day as row_id,
        currency_code
    from {{ ref('int_ads__daily_spend') }}
    where rows_without_rate > 0

),

deals as (

    select 'deal' as kind, deal_id as row_id, currency_code
    from {{ ref('int_crm__deals') }}
    -- an unpriced open deal (no amount) has nothing to convert
    where amount is not null and amount_reporting is null

),

final as (

    select * from spend
    union all
    select * from deals

)

select * from final
