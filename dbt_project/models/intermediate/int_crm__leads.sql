with

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

sessions as (

    select * from {{ ref('int_web__sessions') }}

),

first_sessions as (

    select * from sessions where visit_number = 1

),

leads as (

    select
        contact_id,
        -- identity key: normalised e-mail, hashed so no PII leaves the warehouse
        md5(lower(trim(email))) as person_key,
        ga_client_id,
        owner_id,
        coalesce(lead_at, created_at) as lead_at,
        mql_at,
        sql_at,
        opportunity_at,
        customer_at

    from contacts
    where not coalesce(is_archived, false)

),

stitched as (

    select
        leads.*,
        first_sessions.session_key as first_session_key,
        first_sessions.started_at as visitor_at,
        -- a lead with no web visit came through an offline/sales source
        coalesce(first_sessions.channel, 'offline') as first_touch_channel,
        first_sessions.utm_campaign as first_touch_campaign

    from leads
    left join first_sessions
        on leads.ga_client_id = first_sessions.user_pseudo_id

)

select * from stitched
