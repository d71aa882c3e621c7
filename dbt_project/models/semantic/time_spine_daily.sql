{#- MetricFlow's daily time spine (dbt's semantic layer, marts/_semantic_models.yml): one row
    per day, wide enough for any warehouse's history. Written here, not taken from a package,
    because dbt deps cannot reach the hub. -#}
with

days as (

    select cast(generate_series as date) as date_day
    from generate_series(date '2000-01-01', date '2049-12-31', interval 1 day)

),

final as (

    select date_day from days

)

select * from final
