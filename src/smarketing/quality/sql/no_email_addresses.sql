-- No published value looks like an e-mail address: __MARTS__ is email_in_mart.sql once per
-- published mart, joined by union all (one pass over each mart).
select * from (__MARTS__) where exists (select 1 from {batch})
