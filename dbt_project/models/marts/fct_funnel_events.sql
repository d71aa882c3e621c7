{#- One row per person per funnel stage reached: visitor, lead, mql, sal, sql, opportunity,
    won, lost. A person is a lead (CRM contact) or an anonymous visitor who never converted (kept,
    with a null lead_id). Stage dates as in fct_lead_funnel. -#}
with

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

leads_source as (

    select * from {{ ref('int_crm__leads') }}

),

visitors as (

    select * from {{ ref('int_web__visitors') }}

),

anonymous_visitors as (

    select
        visitors.person_key as person_id,
        cast(null as varchar) as lead_id,
        visitors.person_key,
        visitors.first_channel as channel,
        visitors.first_campaign as campaign,
        cast(null as varchar) as owner_id,
        visitors.first_visit_at as visitor_at

    from visitors
    anti join leads_source
        on visitors.user_pseudo_id = leads_source.ga_client_id

),

lead_stages as (

    unpivot (
        select
            lead_id as person_id,
            lead_id,
            person_key,
            first_touch_channel as channel,
            first_touch_campaign as campaign,
            owner_id,
            visitor_at as visitor,
            lead_at as lead,
            mql_at as mql,
            sal_at as sal,
            sql_at as sql,
            opportunity_at as opportunity,
            won_at as won,
            lost_at as lost
        from leads
    )
    on visitor, lead, mql, sal, sql, opportunity, won, lost
    into name stage value stage_at

),

unioned as (

    select
        person_id,
        lead_id,
        person_key,
        channel,
        campaign,
        owner_id,
        stage,
        stage_at
    from lead_stages
    union all
    select
        person_id,
        lead_id,
        person_key,
        channel,
        campaign,
        owner_id,
        'visitor',
        visitor_at
    from anonymous_visitors

),

final as (

    select
        md5(person_id || ':' || stage) as funnel_event_id,
        person_id,
        lead_id,
        person_key,
        lead_id is null as is_anonymous,
        stage,
        cast(case stage
            when 'visitor' then 1
            when 'lead' then 2
            when 'mql' then 3
            when 'sal' then 4
            when 'sql' then 5
            when 'opportunity' then 6
            else 7
        end as integer) as stage_number,
        stage_at,
        channel,
        campaign,
        owner_id

    from unioned
    where stage_at is not null

)

select * from final
