-- freshness: the source's staging model has rows dated in the run's interval.
-- __MODEL__ and __DAY__ are filled in per source by smarketing.quality.suites;
-- {batch} is the run context (audit._run_context, one row).
select '__MODEL__' as source, count(s.__DAY__) as rows_in_interval
from (select * from {batch}) as c
left join staging.__MODEL__ as s
    on s.__DAY__ >= c.interval_start and s.__DAY__ < c.interval_end
group by all
having count(s.__DAY__) = 0
