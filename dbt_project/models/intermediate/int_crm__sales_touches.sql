{#- Sales touches: calls, sales e-mails and meetings logged in the CRM, one row per
    engagement and associated contact (a meeting with two people touches both). -#}
with

calls as (

    select * from {{ ref('stg_hubspot__calls') }}

),

emails as (

    select * from {{ ref('stg_hubspot__emails') }}

),

meetings as (

    select * from {{ ref('stg_hubspot__meetings') }}

),

engagements as (

    select
        'call' as engagement_type,
        engagement_id,
        owner_id,
        occurred_at,
        contact_ids,
        is_archived
    from calls
    union all
    select
        'sales_email',
        engagement_id,
        owner_id,
        occurred_at,
        contact_ids,
        is_archived
    from emails
    union all
    select
        'meeting',
        engagement_id,
        owner_id,
        occurred_at,
        contact_ids,
        is_archived
    from meetings

),

per_contact as (

    select
        engagement_type,
        engagement_id,
        owner_id,
        occurred_at,
        unnest(contact_ids) as contact_id

    from engagements
    where not coalesce(is_archived, false)

),

final as (

    select
        engagement_type || ':' || engagement_id || ':' || contact_id as touchpoint_id,
        contact_id,
        engagement_id,
        engagement_type,
        owner_id,
        occurred_at

    from per_contact

)

select * from final
