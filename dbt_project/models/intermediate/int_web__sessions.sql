with

events as (

    select * from {{ ref('stg_ga4__events') }}

),

channel_mapping as (

    select * from {{ ref('channel_mapping') }}

),

sessions as (

    select
        user_pseudo_id,
        ga_session_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as events,
        count(*) filter (where event_name = 'page_view') as page_views,
        bool_or(event_name = 'generate_lead') as has_lead_form,
        arg_min(page_location, event_at) as landing_page,
        -- traffic source of the session = the first event that carries one
        arg_min(lower(trim(utm_source)), event_at) filter (where utm_source is not null) as utm_source,
        arg_min(lower(trim(utm_medium)), event_at) filter (where utm_medium is not null) as utm_medium,
        arg_min(lower(trim(utm_campaign)), event_at) filter (where utm_campaign is not null) as utm_campaign,
        arg_min(gclid, event_at) filter (where gclid is not null) as gclid

    from events
    group by user_pseudo_id, ga_session_id

),

classified as (

    select
        sessions.*,
        case
            when sessions.utm_source is null and sessions.utm_medium is null then 'direct'
            else coalesce(exact_match.channel, medium_match.channel, 'other')
        end as channel

    from sessions
    left join channel_mapping as exact_match
        on sessions.utm_source = exact_match.utm_source
        and sessions.utm_medium = exact_match.utm_medium
    left join channel_mapping as medium_match
        on medium_match.utm_source = '*'
        and sessions.utm_medium = medium_match.utm_medium

),

final as (

    select
        md5(user_pseudo_id || '-' || cast(ga_session_id as varchar)) as session_key,
        user_pseudo_id,
        ga_session_id,
        started_at,
        cast(started_at as date) as session_date,
        ended_at,
        events,
        page_views,
        has_lead_form,
        landing_page,
        utm_source,
        utm_medium,
        utm_campaign,
        gclid,
        channel,
        row_number() over (partition by user_pseudo_id order by started_at, ga_session_id) as visit_number

    from classified

)

select * from final
