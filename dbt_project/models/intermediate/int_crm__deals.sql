with

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

final as (

    select
        deal_id,
        contact_id,
        owner_id,
        deal_stage,
        amount,
        currency_code,
        created_at,
        closed_at,
        case when deal_stage = 'closedwon' then closed_at end as won_at,
        case when deal_stage = 'closedlost' then closed_at end as lost_at,
        -- the contact's first deal carries its funnel; later deals are upsell
        row_number() over (partition by contact_id order by created_at, deal_id) as deal_number

    from deals

)

select * from final
