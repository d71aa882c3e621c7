with

source as (

    select * from {{ source('hubspot', 'deals') }}

),

renamed as (

    select
        record_id as deal_id,
        payload ->> '$.properties.dealname' as deal_name,
        payload ->> '$.properties.pipeline' as pipeline_id,
        payload ->> '$.properties.dealstage' as deal_stage,
        payload ->> '$.properties.hubspot_owner_id' as owner_id,
        -- an open deal may have no amount yet: pipeline of unknown value (null, not zero)
        cast(nullif(trim(payload ->> '$.properties.amount'), '') as decimal(18, 2)) as amount,
        -- a deal without a currency is in the account's company currency, as HubSpot treats it
        coalesce(
            upper(nullif(trim(payload ->> '$.properties.deal_currency_code'), '')),
            upper('{{ var("hubspot_company_currency") }}')
        ) as currency_code,
        nullif(trim(payload ->> '$.properties.deal_currency_code'), '') is null
            as is_company_currency_default,
        {{ crm_timestamp("payload ->> '$.properties.createdate'") }} as created_at,
        {{ crm_timestamp("payload ->> '$.properties.closedate'") }} as closed_at,
        updated_at

    from source

)

select * from renamed
