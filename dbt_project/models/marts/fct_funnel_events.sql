{#- One row per person per funnel stage reached: visitor, lead, mql, sal, sql, opportunity,
    won, lost. A person is a lead (CRM contact) or an anonymous visitor who never converted (kept,
    with a null lead_id). Stage dates as in fct_lead_funnel.

    Incremental, by person: a nightly run computes the rows of every lead (fct_lead_funnel is
    rebuilt whole from the CRM, with no change marker: a recycled lead's dates move back, a
    lead is deleted or merged) and of the visitors whose row may have changed since the
    table's last build: re-aggregated by int_web__visitors since (its sessions_built_at), or
    whose GA client id became or stopped being a lead's (the visitor leaves or rejoins the
    anonymous). Those are compared with the stored rows of the same persons; a person whose
    rows differ in any column is replaced whole, and one left with no rows (a visitor who
    became a lead, a deleted lead) is emptied (strategy replace_keys). What the table
    reflects is kept in fct_funnel_events__state (macro funnel_events_state), written in the
    same transaction. `full_refresh: true` rebuilds it whole. -#}
{{
    config(
        materialized='incremental',
        unique_key='person_id',
        incremental_strategy='replace_keys',
        replace_keys_marker='funnel_event_id',
        on_schema_change='fail',
        post_hook="{{ write_funnel_events_state() }}"
    )
}}

with

leads as (

    select * from {{ ref('fct_lead_funnel') }}

),

leads_source as (

    select * from {{ ref('int_crm__leads') }}

),

all_visitors as (

    select * from {{ ref('int_web__visitors') }}

),

{% if is_incremental() %}

    {%- set state_relation = load_relation(funnel_events_state()) %}

    -- the latest visitor build and the leads' GA client ids the table reflects (none known:
    -- every visitor is compared)
    state as (

        {% if state_relation is not none -%}
            select
                sessions_built_at,
                lead_ga_client_ids
            from {{ state_relation }}
        {%- else -%}
            select
                cast(null as timestamp) as sessions_built_at,
                cast([] as varchar []) as lead_ga_client_ids
        {%- endif %}

    ),

    lead_ga_client_ids as (

        select distinct ga_client_id
        from leads_source
        where ga_client_id is not null

    ),

    stored_lead_ga_client_ids as (

        select unnest(lead_ga_client_ids) as ga_client_id
        from state

    ),

    -- a GA client id that became or stopped being a lead's
    relinked as (

        (
            select ga_client_id from lead_ga_client_ids
            except
            select ga_client_id from stored_lead_ga_client_ids
        )
        union all
        (
            select ga_client_id from stored_lead_ga_client_ids
            except
            select ga_client_id from lead_ga_client_ids
        )

    ),

    visitors as (

        select all_visitors.*
        from all_visitors
        where
            all_visitors.sessions_built_at > (
                select coalesce(max(state.sessions_built_at), timestamp '1900-01-01')
                from state
            )
            or all_visitors.user_pseudo_id in (select relinked.ga_client_id from relinked)

    ),

{% else %}

    visitors as (

        select * from all_visitors

    ),

{% endif %}

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

funnel_events as (

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

),

{% if is_incremental() %}

    -- the stored rows of the same persons: every lead's, and those of the visitors above
    stored as (

        select * from {{ this }}
        where not is_anonymous
        union all
        select stored_visitors.*
        from {{ this }} as stored_visitors
        semi join visitors
            on stored_visitors.person_id = visitors.person_key
        where stored_visitors.is_anonymous

    ),

    -- a person with a row only on one side, or one that differs in any column (EXCEPT
    -- compares nulls as equal)
    changed_rows as (

        (
            select * from funnel_events
            except
            select * from stored
        )
        union all
        (
            select * from stored
            except
            select * from funnel_events
        )

    ),

    changed_persons as (

        select distinct person_id
        from changed_rows

    ),

    final as (

        select funnel_events.*
        from funnel_events
        semi join changed_persons
            on funnel_events.person_id = changed_persons.person_id
        union all
        -- names the person only (null funnel_event_id): replace_keys deletes all of its
        -- stored rows, also when it has no rows left
        select
            cast(null as varchar) as funnel_event_id,
            person_id,
            cast(null as varchar) as lead_id,
            cast(null as varchar) as person_key,
            cast(null as boolean) as is_anonymous,
            cast(null as varchar) as stage,
            cast(null as integer) as stage_number,
            cast(null as timestamp) as stage_at,
            cast(null as varchar) as channel,
            cast(null as varchar) as campaign,
            cast(null as varchar) as owner_id
        from changed_persons

    )

{% else %}

    final as (

        select * from funnel_events

    )

{% endif %}

select * from final
