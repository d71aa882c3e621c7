{#- The vendors of `candidates` that are enabled, in the order given.

    `smarketing_enabled_vendors` lists the enabled vendors of the registry
    (smarketing.vendors); smarketing.transform passes it on every dbt call and
    dbt_project.yml's default names every registered vendor. -#}
{% macro enabled_vendors(candidates) %}
    {%- set on = var('smarketing_enabled_vendors') -%}
    {%- set found = [] -%}
    {%- for vendor in candidates if vendor in on -%}
        {%- do found.append(vendor) -%}
    {%- endfor -%}
    {{- return(found) -}}
{% endmacro %}
