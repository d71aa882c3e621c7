{#- Web analytics events, vendor-neutral: the only reader of stg_ga4__events, one row per
    event (event_id).

    Incremental: the staging view parses every event's JSON and scrubs its free text, so it
    is read once per event here. A nightly run re-reads only the events loaded since the
    last build (raw `_loaded_at`: a re-sent or corrected event replaces its row, a backfill
    of old days is picked up too) and those of the last `incremental_lookback_days` days
    before the latest event day (late events), and replaces them by event_id. The raw load
    never deletes an event (a re-delivery replaces it by its key), so that equals a full
    refresh. After a change to this model's logic, rebuild it whole: trigger the DAG with
    the param `full_refresh: true`. -#}
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

{#- the bounds as literals: a filter comparing with a subquery would be applied only after
    the view had parsed every event -#}
{%- set last_loaded_at, first_event_date = "1900-01-01", "1900-01-01" -%}
{%- if is_incremental() and execute -%}
    {%- set bounds = run_query(
        "select cast(coalesce(max(loaded_at), timestamp '1900-01-01') as varchar),"
        ~ " cast(coalesce(max(event_date) - " ~ var('incremental_lookback_days')
        ~ ", date '1900-01-01') as varchar) from " ~ this
    ).rows[0] -%}
    {%- set last_loaded_at, first_event_date = bounds[0], bounds[1] -%}
{%- endif %}

with

source_rows as (

    select * from {{ ref('stg_ga4__events') }}

),

events_to_process as (

    select * from source_rows
    {% if is_incremental() -%}
        where loaded_at > timestamp '{{ last_loaded_at }}'
            or event_date >= date '{{ first_event_date }}'
    {%- endif %}

),

final as (

    select
        event_id,
        event_date,
        event_at,
        event_name,
        user_pseudo_id,
        user_id,
        ga_session_id,
        page_location,
        utm_source,
        utm_medium,
        utm_campaign,
        gclid,
        loaded_at,
        cast(now() as timestamp) as built_at

    from events_to_process

)

select * from final
