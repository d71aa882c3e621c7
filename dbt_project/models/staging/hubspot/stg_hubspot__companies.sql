with

source as (

    select * from {{ source('hubspot', 'companies') }}

),

renamed as (

    select
        record_id as company_id,
        payload ->> '$.properties.name' as company_name,
        lower(payload ->> '$.properties.domain') as domain,
        payload ->> '$.properties.industry' as industry,
        cast(payload ->> '$.properties.numberofemployees' as integer) as employees,
        {{ crm_timestamp("payload ->> '$.properties.createdate'") }} as created_at,
        updated_at,
        cast(payload ->> '$.archived' as boolean) as is_archived

    from source

)

select * from renamed
