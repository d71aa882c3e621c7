{#- The sales grain: one row per deal with its primary lead, account, owner and the lead's
    source (first-touch channel and campaign). Revenue sums from here never double count a
    deal, whatever the size of its buying group. -#}
with

deals as (

    select * from {{ ref('int_crm__deals') }}

),

leads as (

    select * from {{ ref('int_crm__leads') }}

),

final as (

    select
        deals.deal_id,
        deals.contact_id as lead_id,
        deals.company_id as account_id,
        deals.owner_id,
        deals.deal_stage,
        deals.deal_status,
        cast(deals.contacts as integer) as buying_group_contacts,
        deals.amount as deal_amount,
        deals.currency_code as deal_currency,
        deals.amount_reporting,
        deals.pipeline_amount_reporting,
        -- false: an open deal without amount yet (pipeline of unknown value)
        deals.amount is not null as is_priced,
        deals.created_at as opportunity_at,
        deals.closed_at,
        deals.won_at,
        deals.lost_at,
        {{ days_between('deals.created_at', 'deals.closed_at') }} as sales_cycle_days,
        coalesce(leads.first_touch_channel, 'offline') as source_channel,
        leads.first_touch_campaign as source_campaign,
        coalesce(leads.first_touch_campaign_key, 'offline:(none)') as source_campaign_key,
        cast(deals.deal_number as integer) as lead_deal_number

    from deals
    left join leads
        on deals.contact_id = leads.contact_id

)

select * from final
