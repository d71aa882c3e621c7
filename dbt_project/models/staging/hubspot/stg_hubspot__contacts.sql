{#- The disqualification reason is an account's own property: its name is the var
    disqualification_reason_property (setting SMARKETING_DISQUALIFICATION_REASON_PROPERTY). -#}
{%- set reason_property = var('disqualification_reason_property', 'disqualification_reason') -%}
with

source as (

    select * from {{ source('hubspot', 'contacts') }}

),

renamed as (

    select
        record_id as contact_id,
        nullif(trim(payload ->> '$.properties.email'), '') as email,
        payload ->> '$.properties.firstname' as first_name,
        payload ->> '$.properties.lastname' as last_name,
        payload ->> '$.properties.company' as company_name,
        nullif(payload ->> '$.properties.associatedcompanyid', '') as company_id,
        payload ->> '$.properties.hubspot_owner_id' as owner_id,
        payload ->> '$.properties.ga_client_id' as ga_client_id,
        nullif(upper(trim(payload ->> '$.properties.hs_analytics_source')), '') as analytics_source,
        nullif(trim(payload ->> '$.properties.hs_analytics_source_data_1'), '')
            as analytics_source_data_1,
        nullif(trim(payload ->> '$.properties.hs_analytics_source_data_2'), '')
            as analytics_source_data_2,
        lower(payload ->> '$.properties.lifecyclestage') as lifecycle_stage,
        {{ crm_timestamp("payload ->> '$.properties.createdate'") }} as created_at,
        {{ crm_timestamp("payload ->> '$.properties.hs_lifecyclestage_lead_date'") }} as lead_at,
        {{ crm_timestamp(
            "payload ->> '$.properties.hs_lifecyclestage_marketingqualifiedlead_date'"
        ) }} as mql_at,
        {{ crm_timestamp("payload ->> '$.properties.hs_lifecyclestage_salesqualifiedlead_date'") }}
            as sql_at,
        {{ crm_timestamp("payload ->> '$.properties.hs_lifecyclestage_opportunity_date'") }}
            as opportunity_at,
        {{ crm_timestamp("payload ->> '$.properties.hs_lifecyclestage_customer_date'") }}
            as customer_at,
        {{ crm_timestamp("payload ->> '$.properties.hs_v2_date_entered_marketingqualifiedlead'") }}
            as mql_entered_at,
        nullif(upper(trim(payload ->> '$.properties.hs_lead_status')), '') as lead_status,
        nullif(trim(payload ->> '$.properties.{{ reason_property }}'), '')
            as disqualification_reason,
        updated_at,
        cast(payload ->> '$.archived' as boolean) as is_archived

    from source

)

select * from renamed
