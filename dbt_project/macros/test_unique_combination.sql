{#- Generic test: no two rows share the same values in `columns` (dbt_utils is unreachable
    here, so this is the one macro of it we need). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
