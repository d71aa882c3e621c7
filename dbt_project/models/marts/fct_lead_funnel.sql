{#- Accumulating snapshot: one row per lead with each stage's first date (see
    int_crm__leads for how skipped and recycled stages are dated; a skipped stage is
    flagged), the days between stages, the lead's source, owner, account and first deal. -#}
with

leads as (

    select * from {{ ref('int_crm__leads') }}

),

final as (

    select
        contact_id as lead_id,
        person_key,
        company_id as account_id,
        owner_id,
        lifecycle_stage as current_stage,
        is_recycled,
        is_mql_skipped,
        is_sql_skipped,
        is_opportunity_skipped,
        first_touch_channel,
        first_touch_campaign,
        first_touch_campaign_key,
        channel_source,
        crm_channel,
        crm_source_agrees,
        visitor_at,
        lead_at,
        mql_at,
        sql_at,
        opportunity_at,
        won_at,
        lost_at,
        first_sales_touch_at,
        deal_id,
        deal_amount,
        deal_currency,
        deal_amount_reporting,
        {{ days_between('visitor_at', 'lead_at') }} as days_visitor_to_lead,
        {{ days_between('lead_at', 'mql_at') }} as days_lead_to_mql,
        {{ days_between('mql_at', 'sql_at') }} as days_mql_to_sql,
        {{ days_between('sql_at', 'opportunity_at') }} as days_sql_to_opportunity,
        {{ days_between('opportunity_at', 'coalesce(won_at, lost_at)') }}
            as days_opportunity_to_close,
        {{ days_between('lead_at', 'won_at') }} as days_lead_to_won

    from leads

)

select * from final
