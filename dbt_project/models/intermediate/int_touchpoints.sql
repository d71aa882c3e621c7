with

leads as (

    select * from {{ ref('int_crm__leads') }}

),

sessions as (

    select * from {{ ref('int_web__sessions') }}

),

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

email_activity as (

    select * from {{ ref('stg_mailchimp__email_activity') }}

),

email_campaigns as (

    select * from {{ ref('stg_mailchimp__campaigns') }}

),

-- Web visits of the lead's stitched visitor. Visits that came from an e-mail click are
-- counted once, as the e-mail click below, not twice.
session_touches as (

    select
        leads.contact_id,
        'session:' || sessions.session_key as touchpoint_id,
        sessions.started_at as touched_at,
        case when sessions.has_lead_form then 'form_fill' else 'web_session' end as touch_type,
        sessions.channel,
        sessions.utm_campaign as campaign

    from leads
    inner join sessions
        on sessions.user_pseudo_id = leads.ga_client_id
    where sessions.channel <> 'email'

),

-- E-mail clicks, joined to the contact by normalised e-mail address.
email_touches as (

    select
        contacts.contact_id,
        'email:' || email_activity.activity_id as touchpoint_id,
        email_activity.occurred_at as touched_at,
        'email_click' as touch_type,
        'email' as channel,
        lower(email_campaigns.campaign_name) as campaign

    from email_activity
    inner join contacts
        on lower(trim(email_activity.email_address)) = lower(trim(contacts.email))
    left join email_campaigns
        on email_activity.campaign_id = email_campaigns.campaign_id
    where email_activity.action = 'click'

),

final as (

    select *, 'marketing' as team from session_touches
    union all
    select *, 'marketing' as team from email_touches

)

select * from final
