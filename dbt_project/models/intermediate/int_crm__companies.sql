{#- CRM companies (accounts), vendor-neutral: the only reader of stg_hubspot__companies.
    A second CRM is unioned here, so marts never read a vendor's staging model. -#}
with

source_rows as (

    select * from {{ ref('stg_hubspot__companies') }}

)

select * from source_rows
