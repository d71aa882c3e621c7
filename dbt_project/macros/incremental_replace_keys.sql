{#- Incremental strategy `replace_keys` (config incremental_strategy='replace_keys'): every
    value of the model's unique_key in the increment is rebuilt whole. All its rows in the
    table are deleted and the increment's rows inserted, except the rows with a null in the
    column named by config `replace_keys_marker`: such a row only names a key, so that a key
    left with no rows at all is emptied too (delete+insert would keep its old rows). -#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set marker = config.get('replace_keys_marker') -%}
    {%- if not unique_key or unique_key is not string or not marker -%}
        {{ exceptions.raise_compiler_error(
            "replace_keys needs one unique_key column and config replace_keys_marker"
        ) }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ unique_key }} in (select {{ unique_key }} from {{ source }});

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ source }}
    where {{ marker }} is not null
{%- endmacro %}
