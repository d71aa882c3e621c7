{#- GA4 events grouped into sessions (user_pseudo_id + ga_session_id).

    Incremental: a nightly run re-sessionises only the visitors with an event (or a Google
    Ads click) loaded since the last build (raw `_loaded_at`, so backfills and re-syncs of
    old days are picked up too) or within the last `incremental_lookback_days` days (late
    events). All the sessions of such a visitor are rebuilt from all of their events and
    replace the visitor's old rows: a corrected event that moved to another session (its
    GA4 key holds the visitor, not the session) leaves no stale session behind, as in a
    full refresh. After a change to this model's logic, rebuild it whole: trigger the DAG
    with the param `full_refresh: true`. -#}
{{
    config(
        materialized='incremental',
        unique_key='user_pseudo_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

with

events as (

    select * from {{ ref('int_web__events') }}

),

channel_mapping as (

    select * from {{ ref('channel_mapping') }}

),

ad_clicks as (

    select * from {{ ref('int_ads__clicks') }}

),

{% if is_incremental() %}

built as (

    select
        coalesce(max(source_loaded_at), timestamp '1900-01-01') as last_loaded_at,
        coalesce(max(session_date), date '1900-01-01') as last_session_date
    from {{ this }}

),

changed_visitors as (

    select distinct events.user_pseudo_id
    from events, built
    where events.loaded_at > built.last_loaded_at
        or events.event_date
            >= built.last_session_date - to_days({{ var('incremental_lookback_days') }})
        -- a click reported after its session was built re-classifies the session
        or events.gclid in (
            select ad_clicks.gclid from ad_clicks where ad_clicks.loaded_at > built.last_loaded_at
        )

),

events_to_process as (

    select events.*
    from events
    semi join changed_visitors using (user_pseudo_id)

),

{% else %}

    events_to_process as (

        select * from events

    ),

{% endif %}

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
        arg_min(lower(trim(utm_source)), event_at) filter (where utm_source is not null)
            as utm_source,
        arg_min(lower(trim(utm_medium)), event_at) filter (where utm_medium is not null)
            as utm_medium,
        arg_min(lower(trim(utm_campaign)), event_at) filter (where utm_campaign is not null)
            as utm_campaign,
        arg_min(gclid, event_at) filter (where gclid is not null) as gclid,
        max(loaded_at) as source_loaded_at

    from events_to_process
    group by user_pseudo_id, ga_session_id

),

-- A session whose click id matches an ad platform's click came from that ad, whatever its
-- UTM values say (Google's auto-tagging sends a gclid and often no UTM at all): the click's
-- campaign is the platform's own name for it, its channel the platform's (the registry's).
classified as (

    select
        sessions.* exclude (utm_campaign),
        coalesce(lower(trim(ad_clicks.campaign_name)), sessions.utm_campaign) as utm_campaign,
        ad_clicks.campaign_id as ad_campaign_id,
        case
            when ad_clicks.gclid is not null then ad_clicks.channel
            when sessions.utm_source is null and sessions.utm_medium is null then 'direct'
            else coalesce(exact_match.channel, medium_match.channel, 'other')
        end as channel

    from sessions
    left join ad_clicks
        on sessions.gclid = ad_clicks.gclid
    left join channel_mapping as exact_match
        on
            sessions.utm_source = exact_match.utm_source
            and sessions.utm_medium = exact_match.utm_medium
    left join channel_mapping as medium_match
        on
            medium_match.utm_source = '*'
            and sessions.utm_medium = medium_match.utm_medium

),

final as (

    select
        -- published in touchpoint ids: keyed like a person, so the GA id cannot be recovered
        {{ person_pseudonym("user_pseudo_id || '-' || cast(ga_session_id as varchar)") }}
            as session_key,
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
        -- campaign key shared with dim_campaign: channel + normalised campaign name
        {{ campaign_key('channel', 'utm_campaign') }} as campaign_key,
        gclid,
        ad_campaign_id,
        channel,
        source_loaded_at,
        cast(now() as timestamp) as built_at

    from classified

)

select * from final
