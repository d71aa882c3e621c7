-- The interval's quarantined records of one entity, with their value and whether the record
-- is a won deal. Parameters: won stage, source, entity, interval.
select record, field, reason, value,
    case when json_valid(raw)
        then json_extract_string(raw, '$.properties.dealstage') = ?
        else false end as won
from raw._quarantine
where source = ? and entity = ? and _interval = ?
order by record
