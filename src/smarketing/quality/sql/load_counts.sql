-- What the load recorded for one raw table and interval, and the quarantined rows really in
-- raw._quarantine. Parameters: raw table, interval.
select l.extracted, l.loaded, l.quarantined,
    (select count(*) from raw._quarantine as q
        where q.source = l.source and q.entity = l.entity and q._interval = l._interval)
from raw._loads as l
where l.raw_table = ? and l._interval = ?
