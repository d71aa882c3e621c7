with

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

converted as (

    select
        deals.*,
        -- converted on the day the deal closed (won or lost), else the day it was created
        {{ to_reporting_currency('deals.amount', 'rate', 'reporting_rate') }} as amount_reporting

    from deals
    {{ join_exchange_rates('deals.currency_code', 'coalesce(deals.closed_at, deals.created_at)', 'rate', 'reporting_rate') }}

),

final as (

    select
        deal_id,
        contact_id,
        owner_id,
        deal_stage,
        amount,
        currency_code,
        amount_reporting,
        created_at,
        closed_at,
        case when deal_stage = 'closedwon' then closed_at end as won_at,
        case when deal_stage = 'closedlost' then closed_at end as lost_at,
        -- the contact's first deal carries its funnel; later deals are upsell
        row_number() over (partition by contact_id order by created_at, deal_id) as deal_number

    from converted

)

select * from final
