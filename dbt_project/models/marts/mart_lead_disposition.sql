{#- MQL month × lead source × campaign × owner: how many MQLs sales accepted (SAL),
    rejected (by HubSpot status; the reasons per lead are in fct_lead_disposition), worked
    without deciding, never worked, or that are still pending within their SLA — the five
    add up to the MQLs. The follow-up SLA share counts only MQLs whose SLA window has
    elapsed. share_rejected_later_converted is the feedback for marketing: of the leads
    sales rejected at some point, the share that reached an opportunity anyway. -#}

with

dispositions as (

    select * from {{ ref('fct_lead_disposition') }}

),

counted as (

    select
        mql_month,
        lead_source,
        campaign,
        campaign_key,
        owner_id,
        count(*) as mqls,
        count(*) filter (where disposition = 'accepted') as accepted,
        count(*) filter (where disposition = 'rejected') as rejected,
        count(*) filter (where disposition = 'rejected' and lead_status = 'UNQUALIFIED')
            as rejected_unqualified,
        count(*) filter (where disposition = 'rejected' and lead_status = 'BAD_TIMING')
            as rejected_bad_timing,
        count(*) filter (where disposition = 'worked_undecided') as worked_undecided,
        count(*) filter (where disposition = 'never_worked') as never_worked,
        count(*) filter (where disposition = 'pending') as pending,
        count(*) filter (where is_remql) as remqls,
        count(*) filter (where is_sal_skipped) as sal_skipped,
        count(*) filter (where not is_within_sla_window) as mqls_sla_elapsed,
        count(*) filter (where not is_within_sla_window and is_worked_within_sla)
            as worked_within_sla,
        count(*) filter (where ever_rejected) as ever_rejected,
        count(*) filter (where rejected_then_converted) as rejected_then_converted

    from dispositions
    group by all

),

final as (

    select
        mql_month,
        lead_source,
        campaign,
        campaign_key,
        owner_id,
        cast(mqls as bigint) as mqls,
        cast(accepted as bigint) as accepted,
        cast(rejected as bigint) as rejected,
        cast(rejected_unqualified as bigint) as rejected_unqualified,
        cast(rejected_bad_timing as bigint) as rejected_bad_timing,
        cast(worked_undecided as bigint) as worked_undecided,
        cast(never_worked as bigint) as never_worked,
        cast(pending as bigint) as pending,
        cast(remqls as bigint) as remqls,
        cast(sal_skipped as bigint) as sal_skipped,
        -- of the MQLs sales decided on, the share it accepted
        cast(accepted / nullif(accepted + rejected, 0) as double) as acceptance_rate,
        cast(accepted / mqls as double) as mql_to_sal_rate,
        cast(mqls_sla_elapsed as bigint) as mqls_sla_elapsed,
        cast(worked_within_sla as bigint) as worked_within_sla,
        cast(worked_within_sla / nullif(mqls_sla_elapsed, 0) as double)
            as share_worked_within_sla,
        cast(ever_rejected as bigint) as ever_rejected,
        cast(rejected_then_converted as bigint) as rejected_then_converted,
        cast(rejected_then_converted / nullif(ever_rejected, 0) as double)
            as share_rejected_later_converted

    from counted

)

select * from final
