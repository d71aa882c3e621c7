{#- Every touch per person, marketing and sales, one row per touch and person.

    Marketing: web sessions (a session with a form fill is `form_fill`; one that came from a
    paid ad, with a Google click id or from a paid channel, is `ad_click`), and Mailchimp
    e-mail clicks joined to the contact by normalised e-mail. Sessions that came from an
    e-mail click count once, as the click. Sales: calls, sales e-mails and meetings.
    Touches of people who never became a CRM contact are kept with a null contact_id and
    their anonymous person key (`visitor:<keyed hash>` or the e-mail's keyed hash): visible,
    never dropped. -#}
with

leads as (

    select * from {{ ref('int_crm__leads') }}

),

sessions as (

    select * from {{ ref('int_web__sessions') }}

),

visitors as (

    select * from {{ ref('int_web__visitors') }}

),

email_activity as (

    select * from {{ ref('int_email__activity') }}

),

email_campaigns as (

    select * from {{ ref('int_email__campaigns') }}

),

sales_touches as (

    select * from {{ ref('int_crm__sales_touches') }}

),

session_touches as (

    select
        leads.contact_id,
        coalesce(leads.person_key, visitors.person_key) as person_key,
        'session:' || sessions.session_key as touchpoint_id,
        sessions.started_at as touched_at,
        case
            when sessions.has_lead_form then 'form_fill'
            when
                sessions.gclid is not null
                or sessions.channel in ('paid_search', 'paid_social') then 'ad_click'
            else 'web_session'
        end as touch_type,
        sessions.channel,
        sessions.utm_campaign as campaign,
        sessions.campaign_key,
        'marketing' as team,
        cast(null as varchar) as owner_id

    from sessions
    inner join visitors
        on sessions.user_pseudo_id = visitors.user_pseudo_id
    left join leads
        on sessions.user_pseudo_id = leads.ga_client_id
    where sessions.channel <> 'email'

),

email_touches as (

    select
        leads.contact_id,
        coalesce(
            leads.person_key,
            {{ person_pseudonym(normalised_email('email_activity.email_address')) }}
        ) as person_key,
        'email:' || email_activity.activity_id as touchpoint_id,
        email_activity.occurred_at as touched_at,
        'email_click' as touch_type,
        'email' as channel,
        lower(email_campaigns.campaign_name) as campaign,
        {{ campaign_key("'email'", 'lower(email_campaigns.campaign_name)') }} as campaign_key,
        'marketing' as team,
        cast(null as varchar) as owner_id

    from email_activity
    left join leads
        on {{ normalised_email('email_activity.email_address') }} = leads.person_identity
    left join email_campaigns
        on email_activity.campaign_id = email_campaigns.campaign_id
    where email_activity.action = 'click'

),

crm_touches as (

    select
        sales_touches.contact_id,
        leads.person_key,
        sales_touches.touchpoint_id,
        sales_touches.occurred_at as touched_at,
        sales_touches.engagement_type as touch_type,
        'sales' as channel,
        cast(null as varchar) as campaign,
        'sales:(none)' as campaign_key,
        'sales' as team,
        sales_touches.owner_id

    from sales_touches
    left join leads
        on sales_touches.contact_id = leads.contact_id

),

final as (

    select * from session_touches
    union all
    select * from email_touches
    union all
    select * from crm_touches

)

select * from final
