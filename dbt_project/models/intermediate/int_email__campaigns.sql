{#- E-mail marketing campaigns, vendor-neutral: the only reader of stg_mailchimp__campaigns. -#}
with

source_rows as (

    select * from {{ ref('stg_mailchimp__campaigns') }}

)

select * from source_rows
