{#- The columns every HubSpot engagement (call, e-mail, meeting) has, renamed and cast:
    owner, time, associated contacts, change time, archived flag. Each staging model adds
    the fields of its own type around them. -#}
{% macro hubspot_engagement_columns() -%}
        record_id as engagement_id,
        payload ->> '$.properties.hubspot_owner_id' as owner_id,
        {{ crm_timestamp("payload ->> '$.properties.hs_timestamp'") }} as occurred_at,
        list_transform(
            from_json(payload -> '$.associations.contacts.results', '[{"id": "VARCHAR"}]'),
            lambda association: association.id
        ) as contact_ids,
        updated_at,
        cast(payload ->> '$.archived' as boolean) as is_archived
{%- endmacro %}
