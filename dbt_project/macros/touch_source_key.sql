{#- int_touchpoints' key of the touches made from one e-mail address (`email:` and the
    normalised address; no address: `email:`), written where the touches are made and where a
    changed activity names the key to rebuild, so the two never drift apart. -#}
{% macro email_source_key(address) -%}
    'email:' || coalesce({{ normalised_email(address) }}, '')
{%- endmacro %}
