-- An e-mail address (also URL-encoded, name%40host) in any published value of __MART__, as
-- the staging models' scrub_pii finds it. Only the mart and a count are reported: the value
-- itself must not reach a report. No {n,} quantifier: GX reads braces as placeholders.
select '__MART__' as mart, count(*) as rows_with_an_email_address
from audit.__MART__
where regexp_matches(concat_ws(' ', *columns(*)),
    '[a-z0-9._%+-]+(@|%40)[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z][a-z]+', 'i')
having count(*) > 0
