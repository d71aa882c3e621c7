{#- E-mail marketing activity (opens, clicks, bounces…), vendor-neutral: the only reader of
    stg_mailchimp__email_activity. -#}
with

source_rows as (

    select * from {{ ref('stg_mailchimp__email_activity') }}

)

select * from source_rows
