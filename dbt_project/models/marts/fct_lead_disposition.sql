{#- One row per MQL: what sales decided about it (accepted = SAL, rejected with a reason,
    worked but undecided, pending within its SLA, never worked), when, and whether a
    rejected lead later converted. Classification in int_crm__lead_dispositions. The month
    is the lead's first MQL month, so MQLs agree with the other marts at every grain. -#}
with

dispositions as (

    select * from {{ ref('int_crm__lead_dispositions') }}

),

final as (

    select
        contact_id as lead_id,
        cast(date_trunc('month', mql_at) as date) as mql_month,
        first_touch_channel as lead_source,
        substr(first_touch_campaign_key, strpos(first_touch_campaign_key, ':') + 1) as campaign,
        first_touch_campaign_key as campaign_key,
        coalesce(owner_id, '(unassigned)') as owner_id,
        lead_status,
        disposition,
        rejection_reason,
        mql_at,
        mql_started_at,
        is_remql,
        sla_due_at,
        is_within_sla_window,
        is_worked_within_sla,
        first_sales_touch_at,
        cast(hours_to_first_touch as decimal(10, 2)) as hours_to_first_touch,
        sal_at,
        is_sal_skipped,
        ever_rejected,
        rejected_then_converted,
        opportunity_at,
        won_at,
        as_of

    from dispositions

)

select * from final
