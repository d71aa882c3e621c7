{#- Accumulating snapshot: one row per lead with each stage's first date (see
    int_crm__leads for how skipped and recycled stages are dated; a skipped stage is
    flagged), the days between stages, the lead's source, owner, account and first deal.
    The SAL (sales-accepted) stage between MQL and SQL is the lead disposition's
    (int_crm__lead_dispositions.first_sal_at: the lead's first acceptance, so a recycled
    lead keeps the one that led to its SQL); a lead that never was an MQL has none. -#}
with

leads as (

    select * from {{ ref('int_crm__leads') }}

),

dispositions as (

    select * from {{ ref('int_crm__lead_dispositions') }}

),

final as (

    select
        leads.contact_id as lead_id,
        leads.person_key,
        leads.company_id as account_id,
        leads.owner_id,
        leads.lifecycle_stage as current_stage,
        leads.is_recycled,
        leads.is_mql_skipped,
        coalesce(dispositions.is_first_sal_skipped, false) as is_sal_skipped,
        leads.is_sql_skipped,
        leads.is_opportunity_skipped,
        leads.first_touch_channel,
        leads.first_touch_campaign,
        leads.first_touch_campaign_key,
        leads.channel_source,
        leads.crm_channel,
        leads.crm_source_agrees,
        leads.visitor_at,
        leads.lead_at,
        leads.mql_at,
        dispositions.first_sal_at as sal_at,
        leads.sql_at,
        leads.opportunity_at,
        leads.won_at,
        leads.lost_at,
        leads.first_sales_touch_at,
        leads.deal_id,
        leads.deal_amount,
        leads.deal_currency,
        leads.deal_amount_reporting,
        {{ days_between('leads.visitor_at', 'leads.lead_at') }} as days_visitor_to_lead,
        {{ days_between('leads.lead_at', 'leads.mql_at') }} as days_lead_to_mql,
        {{ days_between('leads.mql_at', 'dispositions.first_sal_at') }} as days_mql_to_sal,
        {{ days_between('dispositions.first_sal_at', 'leads.sql_at') }} as days_sal_to_sql,
        {{ days_between('leads.mql_at', 'leads.sql_at') }} as days_mql_to_sql,
        {{ days_between('leads.sql_at', 'leads.opportunity_at') }} as days_sql_to_opportunity,
        {{ days_between('leads.opportunity_at', 'coalesce(leads.won_at, leads.lost_at)') }}
            as days_opportunity_to_close,
        {{ days_between('leads.lead_at', 'leads.won_at') }} as days_lead_to_won

    from leads
    left join dispositions
        on leads.contact_id = dispositions.contact_id

)

select * from final
