{#- One row per anonymous web visitor (GA4 user_pseudo_id): the first session gives the
    visitor's acquisition channel and campaign. Visitors who never fill in a form stay here
    (and in fct_funnel_events at the visitor stage): nothing is dropped for lack of a lead. -#}
with

sessions as (

    select * from {{ ref('int_web__sessions') }}

),

final as (

    select
        user_pseudo_id,
        -- the unique key of an anonymous person: GA's pseudonymous id under the keyed hash
        'visitor:' || {{ person_pseudonym('user_pseudo_id') }} as person_key,
        arg_min(session_key, (started_at, ga_session_id)) as first_session_key,
        min(started_at) as first_visit_at,
        arg_min(channel, (started_at, ga_session_id)) as first_channel,
        -- arg_min_null: a first session without a campaign must not borrow a later one's
        arg_min_null(utm_campaign, (started_at, ga_session_id)) as first_campaign,
        arg_min(campaign_key, (started_at, ga_session_id)) as first_campaign_key,
        count(*) as sessions,
        bool_or(has_lead_form) as has_lead_form

    from sessions
    group by user_pseudo_id

)

select * from final
