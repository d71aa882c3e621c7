{#- Use the configured schema name as is (staging, intermediate, audit, seeds) instead of
    dbt's default "<target>_<custom>", so the audit area is always the schema `audit`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
