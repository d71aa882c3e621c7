{#- The CRM's clock, one row: the latest change the warehouse holds from the CRM (a contact
    update, a sales touch, a deal created or closed). It is "now" for every figure that
    depends on time passing (an SLA window elapsing, the elapsed share of a target period),
    so a re-run of an old day gives the figures it gave then, whatever the wall clock. -#}
with

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

sales_touches as (

    select * from {{ ref('int_crm__sales_touches') }}

),

deals as (

    select * from {{ ref('int_crm__deals') }}

),

final as (

    select greatest(
        (select max(updated_at) from contacts),
        (select max(occurred_at) from sales_touches),
        (select max(created_at) from deals),
        (select max(closed_at) from deals)
    ) as as_of

)

select * from final
