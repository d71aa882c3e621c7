-- Volume anomalies: each key figure's daily average over the interval against its published
-- baseline (audit._run_context, from the kept live version). One scan of mart_channel_daily
-- for all figures; a figure whose baseline is below the minimum is too small to judge.
with c as (select * from {batch}),
interval_totals as (
    select
        coalesce(sum(d.leads), 0) as leads,
        coalesce(sum(d.spend), 0) as spend,
        coalesce(sum(d.sessions), 0) as sessions
    from audit.mart_channel_daily as d, c
    where d.date_day >= c.interval_start and d.date_day < c.interval_end
),
figures as (
    select 'leads' as figure, t.leads / (c.interval_end - c.interval_start) as observed,
        c.baseline_leads as baseline from interval_totals as t, c
    union all
    select 'spend', t.spend / (c.interval_end - c.interval_start), c.baseline_spend
    from interval_totals as t, c
    union all
    select 'sessions', t.sessions / (c.interval_end - c.interval_start), c.baseline_sessions
    from interval_totals as t, c
)
select f.figure, f.observed, f.baseline, c.anomaly_threshold as threshold
from figures as f, c
where not c.accept_anomalies
    and f.baseline >= greatest(c.anomaly_min_baseline, 1e-9)
    and abs(f.observed - f.baseline) / f.baseline > c.anomaly_threshold
