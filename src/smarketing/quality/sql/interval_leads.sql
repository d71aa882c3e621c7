-- Leads of the interval in the marts equal the CRM's new leads of the interval, counted as
-- the marts count them: not archived, not a subscriber who never reached the lead stage,
-- dated by the lead stage date, else the creation.
with c as (select * from {batch}),
crm as (
    select coalesce(lead_at, created_at) as lead_at
    from staging.stg_hubspot__contacts
    where not coalesce(is_archived, false)
        and (lifecycle_stage is distinct from 'subscriber'
            or coalesce(lead_at, mql_at, sql_at, opportunity_at, customer_at) is not null)
)
select observed, expected from (
    select
        (select count(*) from audit.fct_lead_funnel as f, c
            where f.lead_at >= c.interval_start and f.lead_at < c.interval_end) as observed,
        (select count(*) from crm, c
            where crm.lead_at >= c.interval_start and crm.lead_at < c.interval_end) as expected
)
where observed is distinct from expected
