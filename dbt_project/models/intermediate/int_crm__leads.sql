{#- Identity stitching and stage dates, one row per CRM contact (a lead).

    contact --(GA client id captured by the form)--> anonymous web visitor (first visit gives
    the first-touch channel and campaign); contact --(associatedcompanyid)--> company. The
    person's identity is the normalised e-mail (it joins Mailchimp activity and stays in the
    warehouse); a contact without an e-mail is a person all the same, identified by its CRM id
    (`hubspot:<id>`). The published person key is the identity's keyed hash (person_pseudonym,
    HMAC-SHA-256). A contact that is only a subscriber (no lead or later stage date) is not a
    lead.

    Channel: the web first touch when the lead has a visit, else HubSpot's original source
    (hs_analytics_source and its drill-down, crm_source_mapping seed), else `offline`.
    channel_source says which decided (`web`, `crm`, `none`); crm_channel is the CRM's own
    answer, kept beside the web one so the marts can report how often they agree. One
    without a company stays here with a null company_id (never dropped).

    Stage dates: each stage is dated when it was first reached. A stage HubSpot skipped (a
    lead that went straight to SQL) is dated at the next stage reached, so the funnel never
    has more people at a later stage than at an earlier one, and flagged (is_<stage>_skipped:
    a rate that should count only leads that passed through a stage can leave them out). A
    lead sent back to an earlier stage keeps the dates it reached (is_recycled tells it went
    back). -#}
{%- set identity = "coalesce(" ~ normalised_email('email') ~ ", 'hubspot:' || contact_id)" %}
with

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

visitors as (

    select * from {{ ref('int_web__visitors') }}

),

deals as (

    select * from {{ ref('int_crm__deals') }}

),

sales_touches as (

    select * from {{ ref('int_crm__sales_touches') }}

),

crm_sources as (

    select * from {{ ref('crm_source_mapping') }}

),

first_deals as (

    select * from deals
    where deal_number = 1

),

leads as (

    select
        contact_id,
        -- identity: normalised e-mail, else the CRM id; only its keyed hash is published
        {{ identity }} as person_identity,
        {{ person_pseudonym(identity) }} as person_key,
        analytics_source,
        analytics_source_data_1,
        ga_client_id,
        company_id,
        owner_id,
        lifecycle_stage,
        coalesce(lead_at, created_at) as lead_at,
        mql_at,
        sql_at,
        opportunity_at,
        customer_at

    from contacts
    where not coalesce(is_archived, false)
    -- a subscriber who never reached the lead stage (or a later one) is not a lead yet;
    -- the gate's "leads of the interval" check counts leads by the same rule
    and (
        lifecycle_stage is distinct from 'subscriber'
        or coalesce(lead_at, mql_at, sql_at, opportunity_at, customer_at) is not null
    )

),

with_deals as (

    select
        leads.*,
        -- an opportunity is the lifecycle date, else the creation of the lead's first deal
        coalesce(leads.opportunity_at, first_deals.created_at) as deal_opportunity_at,
        first_deals.deal_id,
        first_deals.amount as deal_amount,
        first_deals.currency_code as deal_currency,
        first_deals.amount_reporting as deal_amount_reporting,
        first_deals.won_at,
        first_deals.lost_at

    from leads
    left join first_deals
        on leads.contact_id = first_deals.contact_id

),

stage_dates as (

    select
        with_deals.* exclude (mql_at, sql_at, opportunity_at, deal_opportunity_at),
        coalesce(mql_at, sql_at, deal_opportunity_at, customer_at) as mql_at,
        coalesce(sql_at, deal_opportunity_at, customer_at) as sql_at,
        coalesce(deal_opportunity_at, customer_at) as opportunity_at,
        -- skipped: HubSpot has no date for the stage, yet the lead reached a later one
        (mql_at is null and coalesce(sql_at, deal_opportunity_at, customer_at) is not null)
            as is_mql_skipped,
        (sql_at is null and coalesce(deal_opportunity_at, customer_at) is not null)
            as is_sql_skipped,
        (deal_opportunity_at is null and customer_at is not null) as is_opportunity_skipped,
        case
            when customer_at is not null or won_at is not null then 5
            when deal_opportunity_at is not null then 4
            when sql_at is not null then 3
            when mql_at is not null then 2
            else 1
        end as reached_stage_rank,
        case lifecycle_stage
            when 'subscriber' then 0
            when 'lead' then 1
            when 'marketingqualifiedlead' then 2
            when 'salesqualifiedlead' then 3
            when 'opportunity' then 4
            when 'customer' then 5
            when 'evangelist' then 6
        end as current_stage_rank

    from with_deals

),

-- the first sales touch that answers the MQL (touches before it were not a response)
first_sales_touches as (

    select
        stage_dates.contact_id,
        min(sales_touches.occurred_at) as first_sales_touch_at
    from stage_dates
    inner join sales_touches
        on
            stage_dates.contact_id = sales_touches.contact_id
            and stage_dates.mql_at <= sales_touches.occurred_at
    group by stage_dates.contact_id

),

-- the CRM's original source as a channel: an exact drill-down row wins over `*`
crm_channels as (

    select
        stage_dates.contact_id,
        arg_min(
            crm_sources.channel,
            crm_sources.hs_analytics_source_data_1 = '*'
        ) as channel
    from stage_dates
    inner join crm_sources
        on
            stage_dates.analytics_source = upper(crm_sources.hs_analytics_source)
            and (
                crm_sources.hs_analytics_source_data_1 = '*'
                or upper(stage_dates.analytics_source_data_1)
                = upper(crm_sources.hs_analytics_source_data_1)
            )
    group by stage_dates.contact_id

),

stitched as (

    select
        stage_dates.* exclude (stage_dates.reached_stage_rank, stage_dates.current_stage_rank),
        coalesce(stage_dates.current_stage_rank < stage_dates.reached_stage_rank, false)
            as is_recycled,
        visitors.first_session_key,
        visitors.first_visit_at as visitor_at,
        -- web first touch, else the CRM's original source, else offline
        coalesce(visitors.first_channel, crm_channels.channel, 'offline') as first_touch_channel,
        visitors.first_campaign as first_touch_campaign,
        coalesce(
            visitors.first_campaign_key,
            {{ campaign_key("coalesce(crm_channels.channel, 'offline')", 'null') }}
        ) as first_touch_campaign_key,
        case
            when visitors.first_channel is not null then 'web'
            when crm_channels.channel is not null then 'crm'
            else 'none'
        end as channel_source,
        crm_channels.channel as crm_channel,
        -- do the CRM's source and the stitched web first touch name the same channel?
        -- (null when either is missing)
        crm_channels.channel = visitors.first_channel as crm_source_agrees,
        first_sales_touches.first_sales_touch_at

    from stage_dates
    left join visitors
        on stage_dates.ga_client_id = visitors.user_pseudo_id
    left join crm_channels
        on stage_dates.contact_id = crm_channels.contact_id
    left join first_sales_touches
        on stage_dates.contact_id = first_sales_touches.contact_id

),

final as (

    -- the stitched columns, less the CRM's raw source fields
    select * exclude (analytics_source, analytics_source_data_1)  -- noqa: AM04
    from stitched

)

select * from final
