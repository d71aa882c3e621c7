{#- Until exchange rates are modelled, summing amounts of different currencies would publish a
    wrong number: fail instead. Returns every spend or deal row not in the reporting currency. -#}
with

spend as (

    select 'spend' as kind, platform || ':' || campaign_id as row_id, currency_code
    from {{ ref('int_ads__daily_spend') }}

),

deals as (

    select 'deal' as kind, deal_id as row_id, currency_code
    from {{ ref('int_crm__deals') }}

),

final as (

    select * from spend
    union all
    select * from deals

)

select * from final
where currency_code is distinct from '{{ var("reporting_currency") }}'
