{#- What fct_funnel_events reflects, kept for its next incremental run (the published mart's
    columns are fixed by its contract, so this cannot live in the mart): one row, the latest
    visitor build it read (int_web__visitors.sessions_built_at) and the GA client ids of the
    leads then (a visitor with one of them is not anonymous). Next to int_web__visitors, which
    holds the same GA ids; written by the mart's post-hook in the mart's own transaction, so it
    never runs ahead of the table. -#}
{% macro funnel_events_state() -%}
    {{ return(api.Relation.create(
        database=this.database,
        schema=ref('int_web__visitors').schema,
        identifier='fct_funnel_events__state',
        type='table'
    )) }}
{%- endmacro %}

{% macro write_funnel_events_state() -%}
    create or replace table {{ funnel_events_state() }} as
    select
        (select max(sessions_built_at) from {{ ref('int_web__visitors') }}) as sessions_built_at,
        (
            select
                coalesce(
                    list(distinct ga_client_id order by ga_client_id), cast([] as varchar [])
                )
            from {{ ref('int_crm__leads') }}
            where ga_client_id is not null
        ) as lead_ga_client_ids
{%- endmacro %}
