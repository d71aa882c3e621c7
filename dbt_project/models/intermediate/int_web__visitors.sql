{#- One row per anonymous web visitor (GA4 user_pseudo_id): the first session gives the
    visitor's acquisition channel and campaign. Visitors who never fill in a form stay here
    (and in fct_funnel_events at the visitor stage): nothing is dropped for lack of a lead.

    Incremental: a nightly run re-aggregates only the visitors with a session that
    int_web__sessions (re)built since this model's last run (its `built_at`), from all of
    their sessions, and replaces their rows; the person key is hashed once per visitor, not on
    every read. `full_refresh: true` rebuilds it whole. -#}
{{
    config(
        materialized='incremental',
        unique_key='user_pseudo_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

with

all_sessions as (

    select * from {{ ref('int_web__sessions') }}

),

{% if is_incremental() %}

sessions as (

    select all_sessions.*
    from all_sessions
    where all_sessions.user_pseudo_id in (
        select rebuilt.user_pseudo_id
        from all_sessions as rebuilt
        where rebuilt.built_at > (
            select coalesce(max(sessions_built_at), timestamp '1900-01-01') from {{ this }}
        )
    )

),

{% else %}

    sessions as (

        select * from all_sessions

    ),

{% endif %}

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
        bool_or(has_lead_form) as has_lead_form,
        max(built_at) as sessions_built_at

    from sessions
    group by user_pseudo_id

)

select * from final
