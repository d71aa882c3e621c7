{#- The sales grain: one row per account (HubSpot company) with its people, marketing and
    sales touches, deals and revenue. Contacts without a company are kept together in the
    account `(no company)`, so the accounts' won revenue always equals the marketing grain's
    (mart_channel_daily) total: the quality gate reconciles the two. -#}
with

companies as (

    select * from {{ ref('int_crm__companies') }}

),

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

deals as (

    select * from {{ ref('fct_deals') }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints') }}

),

people as (

    select
        coalesce(account_id, '(no company)') as account_id,
        count(*) as contacts,
        count(mql_at) as mqls,
        min(visitor_at) as first_visit_at,
        min(lead_at) as first_lead_at
    from leads
    group by all

),

touches as (

    select
        coalesce(leads.account_id, '(no company)') as account_id,
        count(*) filter (where touchpoints.team = 'marketing') as marketing_touches,
        count(*) filter (where touchpoints.team = 'sales') as sales_touches,
        min(touchpoints.touched_at) filter (where touchpoints.team = 'marketing')
            as first_marketing_touch_at,
        min(touchpoints.touched_at) filter (where touchpoints.team = 'sales')
            as first_sales_touch_at,
        max(touchpoints.touched_at) as last_touch_at
    from touchpoints
    inner join leads
        on touchpoints.contact_id = leads.lead_id
    group by all

),

revenue as (

    select
        coalesce(account_id, '(no company)') as account_id,
        count(*) as deals,
        count(*) filter (where deal_status = 'open') as open_deals,
        count(*) filter (where deal_status = 'open' and not is_priced) as unpriced_open_deals,
        count(won_at) as won_deals,
        count(lost_at) as lost_deals,
        sum(pipeline_amount_reporting) filter (where deal_status = 'open') as open_pipeline,
        sum(amount_reporting) filter (where won_at is not null) as won_revenue,
        min(won_at) as first_won_at
    from deals
    group by all

),

accounts as (

    select account_id from people
    union
    select account_id from revenue

),

final as (

    select
        accounts.account_id,
        coalesce(companies.company_name, accounts.account_id) as account_name,
        companies.domain,
        companies.industry,
        cast(coalesce(people.contacts, 0) as bigint) as contacts,
        cast(coalesce(people.mqls, 0) as bigint) as mqls,
        people.first_visit_at,
        people.first_lead_at,
        cast(coalesce(touches.marketing_touches, 0) as bigint) as marketing_touches,
        cast(coalesce(touches.sales_touches, 0) as bigint) as sales_touches,
        touches.first_marketing_touch_at,
        touches.first_sales_touch_at,
        touches.last_touch_at,
        cast(coalesce(revenue.deals, 0) as bigint) as deals,
        cast(coalesce(revenue.open_deals, 0) as bigint) as open_deals,
        cast(coalesce(revenue.unpriced_open_deals, 0) as bigint) as unpriced_open_deals,
        cast(coalesce(revenue.won_deals, 0) as bigint) as won_deals,
        cast(coalesce(revenue.lost_deals, 0) as bigint) as lost_deals,
        cast(coalesce(revenue.open_pipeline, 0) as decimal(18, 2)) as open_pipeline,
        cast(coalesce(revenue.won_revenue, 0) as decimal(18, 2)) as won_revenue,
        revenue.first_won_at

    from accounts
    left join companies
        on accounts.account_id = companies.company_id
    left join people
        on accounts.account_id = people.account_id
    left join touches
        on accounts.account_id = touches.account_id
    left join revenue
        on accounts.account_id = revenue.account_id

)

select * from final
