{#- The published key of a person: HMAC-SHA-256 of the normalised identity under the secret
    pseudonym key (64 hex digits). `identity` is any SQL expression giving the identity, e.g.
    normalised_email('email') or "coalesce(" ~ normalised_email('email') ~ ", 'hubspot:' || id)".
    The function is registered by the smarketing.dbt_plugin dbt-duckdb plugin; the key never
    appears in SQL. Null in, null out. -#}
{% macro person_pseudonym(identity) -%}
    smarketing_pseudonym({{ identity }})
{%- endmacro %}

{#- The normalised form of an e-mail address a person is identified by. -#}
{% macro normalised_email(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}
