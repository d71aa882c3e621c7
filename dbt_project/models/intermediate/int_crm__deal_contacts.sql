{#- Deal-to-contact associations from the CRM, vendor-neutral: one row per deal and contact
    (the only reader of stg_hubspot__deal_contacts outside int_crm__deals). -#}
with

source_rows as (

    select * from {{ ref('stg_hubspot__deal_contacts') }}

)

select * from source_rows
