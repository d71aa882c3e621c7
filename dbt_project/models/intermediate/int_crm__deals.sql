{#- Deals in the reporting currency, with their primary contact and account.

    A deal can have a buying group of several contacts. Its primary contact is the one that
    became a lead first (ties: HubSpot's association order): the deal's revenue and funnel
    belong to that lead only, so revenue is never counted twice; attribution still looks at
    every contact's touches (stg_hubspot__deal_contacts). -#}
with

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

deal_contacts as (

    select * from {{ ref('stg_hubspot__deal_contacts') }}

),

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

primary_contacts as (

    select
        deal_contacts.deal_id,
        arg_min(
            deal_contacts.contact_id,
            (coalesce(contacts.lead_at, contacts.created_at), deal_contacts.association_position)
        ) as contact_id,
        count(*) as contacts

    from deal_contacts
    inner join contacts
        on deal_contacts.contact_id = contacts.contact_id
    group by deal_contacts.deal_id

),

converted as (

    select
        deals.*,
        primary_contacts.contact_id,
        coalesce(primary_contacts.contacts, 0) as contacts,
        -- bookings: converted on the day the deal closed (won or lost), else the day it was created
        {{ to_reporting_currency('deals.amount', 'rate', 'reporting_rate') }} as amount_reporting,
        -- pipeline: converted on the day the deal was created, so it never moves on closing
        {{ to_reporting_currency('deals.amount', 'created_rate', 'created_reporting_rate') }}
            as pipeline_amount_reporting

    from deals
    left join primary_contacts
        on deals.deal_id = primary_contacts.deal_id
    {{ join_exchange_rates(
        'deals.currency_code', 'coalesce(deals.closed_at, deals.created_at)', 'rate', 'reporting_rate'
    ) }}
    {{ join_exchange_rates(
        'deals.currency_code', 'deals.created_at', 'created_rate', 'created_reporting_rate'
    ) }}

),

final as (

    select
        converted.deal_id,
        converted.contact_id,
        contacts.company_id,
        converted.contacts,
        converted.owner_id,
        converted.deal_stage,
        converted.amount,
        converted.currency_code,
        converted.amount_reporting,
        converted.pipeline_amount_reporting,
        converted.created_at,
        converted.closed_at,
        case when converted.deal_stage = 'closedwon' then converted.closed_at end as won_at,
        case when converted.deal_stage = 'closedlost' then converted.closed_at end as lost_at,
        case
            when converted.deal_stage = 'closedwon' then 'won'
            when converted.deal_stage = 'closedlost' then 'lost'
            else 'open'
        end as deal_status,
        -- the contact's first deal carries its funnel; later deals are upsell
        row_number() over (
            partition by converted.contact_id
            order by converted.created_at, converted.deal_id
        ) as deal_number

    from converted
    left join contacts
        on converted.contact_id = contacts.contact_id

)

select * from final
