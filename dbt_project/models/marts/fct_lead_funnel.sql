with

leads as (

    select * from {{ ref('int_crm__leads') }}

),

deals as (

    select * from {{ ref('int_crm__deals') }}

),

first_deals as (

    select * from deals where deal_number = 1

),

final as (

    select
        leads.contact_id as lead_id,
        leads.person_key,
        leads.first_touch_channel,
        leads.first_touch_campaign,
        leads.visitor_at,
        leads.lead_at,
        leads.mql_at,
        leads.sql_at,
        coalesce(leads.opportunity_at, first_deals.created_at) as opportunity_at,
        first_deals.won_at,
        first_deals.lost_at,
        first_deals.deal_id,
        first_deals.amount as deal_amount,
        first_deals.currency_code as deal_currency,
        first_deals.amount_reporting as deal_amount_reporting

    from leads
    left join first_deals
        on leads.contact_id = first_deals.contact_id

)

select * from final
