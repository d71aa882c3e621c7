{#- What sales decided about each MQL (the sales-accepted stage), one row per MQL lead.

    The MQL episode starts at the lead's latest entry into MQL (HubSpot's
    hs_v2_date_entered_marketingqualifiedlead), else its first MQL date: a recycled lead that
    qualifies again restarts its follow-up SLA there, and only sales work at or after that
    start answers it. Each MQL gets exactly one disposition, in this order:

    * accepted  — sales accepted it (SAL): hs_lead_status CONNECTED or OPEN_DEAL, or the lead
                  reached SQL (or a later stage) within the episode;
    * rejected  — hs_lead_status UNQUALIFIED or BAD_TIMING; the reason is the account's
                  disqualification-reason property, else `bad_timing` for BAD_TIMING, else
                  `(not given)`;
    * worked_undecided — a sales touch in the episode, or status IN_PROGRESS /
                  ATTEMPTED_TO_CONTACT, but no decision yet;
    * pending   — not worked, and its SLA window (var sla_hours) has not elapsed yet;
    * never_worked — not worked, and the SLA window has elapsed.

    The follow-up SLA, for every mart that reports it: the window runs from the episode's
    start to sla_due_at (start + sla_hours) and has elapsed once the clock reaches
    sla_due_at (is_within_sla_window false); the MQL was worked within the SLA when the
    episode's first sales touch came at or before sla_due_at. An SLA share counts only the
    MQLs whose window has elapsed: one still open would enter it only once touched (a
    success known early, its failures not yet), which would flatter the share.

    "Now" is the CRM's own clock: the latest change the warehouse holds from it (contact
    update, sales touch, deal created or closed), so a re-run of an old day classifies as it
    did then and a test's figures do not depend on the wall clock.

    The SAL date is the first sales touch of the episode or the SQL date, whichever came
    first; a lead that reached SQL with no touch before it skipped the SAL stage (flagged,
    dated at the SQL). A lead rejected once keeps its reason in HubSpot after the status
    changes: ever_rejected tells it, and rejected_then_converted a lead marketing was
    right about — rejected, yet it reached an opportunity after its latest MQL date.

    The funnel (fct_lead_funnel) dates each stage when first reached: first_sal_at is the
    SAL of the episode in which the lead first reached SQL. For a lead whose SQL came before
    its current episode (recycled, then an MQL again) that is the earlier episode's, by the
    same rule from the first MQL date: the first sales touch at or after it or the SQL date,
    whichever came first (is_first_sal_skipped likewise); else it is sal_at. So every lead
    that reached SQL was a SAL first, and a recycled lead keeps the acceptance it had. -#}
{%- set sla_hours = var('sla_hours', 24) -%}

with

leads as (

    select * from {{ ref('int_crm__leads') }}

),

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

sales_touches as (

    select * from {{ ref('int_crm__sales_touches') }}

),

-- the CRM's clock: the latest change the warehouse holds from it
crm_clock as (

    select * from {{ ref('int_crm__clock') }}

),

mqls as (

    select
        leads.contact_id,
        leads.owner_id,
        leads.first_touch_channel,
        leads.first_touch_campaign_key,
        leads.lifecycle_stage,
        leads.mql_at,
        leads.sql_at,
        leads.opportunity_at,
        leads.won_at,
        -- the first sales touch at or after the first MQL date (int_crm__leads)
        leads.first_sales_touch_at as first_mql_sales_touch_at,
        contacts.lead_status,
        contacts.disqualification_reason,
        contacts.updated_at,
        -- the latest entry into MQL (never before the first)
        greatest(leads.mql_at, coalesce(contacts.mql_entered_at, leads.mql_at)) as mql_started_at

    from leads
    inner join contacts
        on leads.contact_id = contacts.contact_id
    where leads.mql_at is not null

),

episode_touches as (

    select
        mqls.contact_id,
        min(sales_touches.occurred_at) as first_sales_touch_at
    from mqls
    inner join sales_touches
        on
            mqls.contact_id = sales_touches.contact_id
            and mqls.mql_started_at <= sales_touches.occurred_at
    group by mqls.contact_id

),

facts as (

    select
        mqls.*,
        episode_touches.first_sales_touch_at,
        crm_clock.as_of,
        mqls.mql_started_at + to_microseconds(
            cast(round({{ sla_hours }} * 3600.0 * 1000000.0) as bigint)
        ) as sla_due_at,
        case when mqls.sql_at >= mqls.mql_started_at then mqls.sql_at end as episode_sql_at,
        coalesce(mqls.lead_status in ('CONNECTED', 'OPEN_DEAL'), false) as status_accepted,
        coalesce(mqls.lead_status in ('UNQUALIFIED', 'BAD_TIMING'), false) as status_rejected,
        episode_touches.first_sales_touch_at is not null
        or coalesce(mqls.lead_status in ('IN_PROGRESS', 'ATTEMPTED_TO_CONTACT'), false)
            as is_worked

    from mqls
    cross join crm_clock
    left join episode_touches
        on mqls.contact_id = episode_touches.contact_id

),

-- the follow-up SLA: the window, and whether the episode's first touch came within it
sla as (

    select
        *,
        as_of < sla_due_at as is_within_sla_window,
        coalesce(first_sales_touch_at <= sla_due_at, false) as is_worked_within_sla

    from facts

),

classified as (

    select
        *,
        case
            when status_accepted or episode_sql_at is not null then 'accepted'
            when status_rejected then 'rejected'
            when is_worked then 'worked_undecided'
            when is_within_sla_window then 'pending'
            else 'never_worked'
        end as disposition

    from sla

),

-- the SAL of the current episode
sal_dated as (

    select
        *,
        case
            when disposition = 'accepted' then
                coalesce(least(first_sales_touch_at, episode_sql_at), updated_at)
        end as sal_at,
        disposition = 'accepted'
        and episode_sql_at is not null
        and coalesce(first_sales_touch_at >= episode_sql_at, true) as is_sal_skipped,
        -- the lead first reached SQL in an earlier MQL episode than the current one
        coalesce(sql_at < mql_started_at, false) as is_sql_before_episode

    from classified

),

final as (

    select
        contact_id,
        owner_id,
        first_touch_channel,
        first_touch_campaign_key,
        lead_status,
        disposition,
        case
            when disposition = 'rejected' then
                coalesce(
                    disqualification_reason,
                    case lead_status when 'BAD_TIMING' then 'bad_timing' end,
                    '(not given)'
                )
        end as rejection_reason,
        mql_at,
        mql_started_at,
        mql_started_at > mql_at as is_remql,
        sla_due_at,
        is_within_sla_window,
        is_worked_within_sla,
        first_sales_touch_at,
        (epoch(first_sales_touch_at) - epoch(mql_started_at)) / 3600.0 as hours_to_first_touch,
        sal_at,
        is_sal_skipped,
        -- the first SAL (the funnel's): the earlier episode's when the SQL came in one
        case
            when is_sql_before_episode then least(first_mql_sales_touch_at, sql_at)
            else sal_at
        end as first_sal_at,
        case
            when is_sql_before_episode then coalesce(first_mql_sales_touch_at >= sql_at, true)
            else is_sal_skipped
        end as is_first_sal_skipped,
        disqualification_reason is not null or status_rejected as ever_rejected,
        (disqualification_reason is not null or status_rejected)
        and not status_rejected
        and coalesce(opportunity_at >= mql_started_at, false) as rejected_then_converted,
        opportunity_at,
        won_at,
        as_of

    from sal_dated

)

select * from final
