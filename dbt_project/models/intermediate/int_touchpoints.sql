{#- Every touch per person, marketing and sales, one row per touch and person.

    Marketing: web sessions (a session with a form fill is `form_fill`; one that came from a
    paid ad, with a Google click id or from a paid channel, is `ad_click`), and Mailchimp
    e-mail clicks joined to the contact by normalised e-mail. Sessions that came from an
    e-mail click count once, as the click. Sales: calls, sales e-mails and meetings.
    Touches of people who never became a CRM contact are kept with a null contact_id and
    their anonymous person key (`visitor:<keyed hash>` or the e-mail's keyed hash): visible,
    never dropped.

    Incremental: each row keeps what it was made from, `source_key` (`web:` and the GA4
    visitor, `email:` and the normalised address, `sales:` and the touch), and when that
    source last changed (`source_changed_at`: the session's `built_at`, the e-mail activity's
    load time). A nightly run rebuilds every key whose touches may have changed, from all of
    its sources, and replaces all of its rows (strategy replace_keys: a key left without
    touches is emptied too):
    - a visitor with a session (re)built since the latest stored one (int_web__sessions
      rebuilds all the sessions of a visitor with a changed one, so a session merged into
      another goes too; a visitor never loses all of its sessions: no event is deleted);
    - an address with an activity loaded since the latest stored one (or a re-loaded
      activity stored under it), or with a click in a campaign loaded since then (renamed);
      its earlier activities are those stored under it, so no other activity is re-read;
    - a visitor or address whose contacts (contact_id, person_key) in int_crm__leads, rebuilt
      whole every night with no change marker, are not the ones stored with its touches: a
      visitor who became a lead re-keys all of its earlier touches, a changed e-mail address
      moves its clicks to another person, so do an archived contact and a new GA client id;
    - a sales touch not as in int_crm__sales_touches, compared whole (small, and an engagement
      archived or moved to another contact leaves no change time there).
    A new pseudonym key needs a full refresh (the pipeline refuses to build without one).
    After a change to this model's logic, rebuild it whole: trigger the DAG with the param
    `full_refresh: true`. -#}
{{
    config(
        materialized='incremental',
        unique_key='source_key',
        incremental_strategy='replace_keys',
        replace_keys_marker='touchpoint_id',
        on_schema_change='fail'
    )
}}
{%- if is_incremental() and execute
    and 'source_key' not in adapter.get_columns_in_relation(this) | map(attribute='name') %}
    {{ exceptions.raise_compiler_error(
        this ~ " was built before it was incremental (no source_key): rebuild it whole once,"
        ~ " trigger the DAG with the param full_refresh: true"
    ) }}
{%- endif %}

with

leads as (

    select * from {{ ref('int_crm__leads') }}

),

-- not materialized: each reader scans only the columns and rows it needs
all_sessions as not materialized (

    select * from {{ ref('int_web__sessions') }}

),

visitors as (

    select * from {{ ref('int_web__visitors') }}

),

all_email_activity as not materialized (

    select * from {{ ref('int_email__activity') }}

),

email_campaigns as (

    select * from {{ ref('int_email__campaigns') }}

),

sales_touches as (

    select * from {{ ref('int_crm__sales_touches') }}

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
        sales_touches.owner_id,
        'sales:' || sales_touches.touchpoint_id as source_key,
        cast(null as timestamp) as source_changed_at

    from sales_touches
    left join leads
        on sales_touches.contact_id = leads.contact_id

),

{% if is_incremental() %}

stored as not materialized (

    select * from {{ this }}

),

-- the latest session build and e-mail activity load the stored touches were made from
built as (

    select
        coalesce(
            max(source_changed_at) filter (where starts_with(source_key, 'web:')),
            timestamp '1900-01-01'
        ) as sessions_built_at,
        coalesce(
            max(source_changed_at) filter (where starts_with(source_key, 'email:')),
            timestamp '1900-01-01'
        ) as activity_loaded_at

    from stored

),

-- the contacts each visitor's and address's touches were given to, and those it has now
stored_contacts as (

    select distinct
        source_key,
        contact_id,
        person_key

    from stored
    where contact_id is not null and not starts_with(source_key, 'sales:')

),

current_contacts as (

    select
        'web:' || ga_client_id as source_key,
        contact_id,
        person_key
    from leads
    where ga_client_id is not null
    union all
    select
        'email:' || person_identity as source_key,
        contact_id,
        person_key
    from leads

),

contacts_gone as (

    select * from stored_contacts
    except
    select * from current_contacts

),

contacts_added as (

    select * from current_contacts
    except
    select * from stored_contacts

),

changed_activity as (

    select all_email_activity.*
    from all_email_activity, built
    where all_email_activity.loaded_at > built.activity_loaded_at

),

changed_campaign_clicks as (

    select all_email_activity.*
    from all_email_activity
    where
        all_email_activity.action = 'click'
        and all_email_activity.campaign_id in (
            select email_campaigns.campaign_id
            from email_campaigns, built
            where email_campaigns.loaded_at > built.activity_loaded_at
        )

),

-- each distinct sales touch as stored and as it is now, with its number of copies (the
-- rest of a sales touch is fixed: channel, team, campaign, its key from its id)
stored_sales as (

    select
        touchpoint_id,
        contact_id,
        person_key,
        touched_at,
        touch_type,
        owner_id,
        count(*) as copies
    from stored
    where starts_with(source_key, 'sales:')
    group by all

),

current_sales as (

    select
        touchpoint_id,
        contact_id,
        person_key,
        touched_at,
        touch_type,
        owner_id,
        count(*) as copies
    from crm_touches
    group by all

),

changed_sales as (

    select * from current_sales
    except
    select * from stored_sales

),

gone_sales as (

    select * from stored_sales
    except
    select * from current_sales

),

-- every key rebuilt: all of its stored rows go, its rows as they are now come in
replaced as (

    select 'web:' || all_sessions.user_pseudo_id as source_key
    from all_sessions, built
    where all_sessions.built_at > built.sessions_built_at
    union
    select {{ email_source_key('email_address') }} as source_key
    from changed_activity
    union
    select {{ email_source_key('email_address') }} as source_key
    from changed_campaign_clicks
    union
    -- where a re-loaded activity was stored (another vendor's key may not hold the address)
    select stored.source_key
    from stored
    inner join changed_activity
        on stored.touchpoint_id = 'email:' || changed_activity.activity_id
    union
    select source_key from contacts_gone
    union
    -- a new contact of a visitor or address with touches (none: nothing to re-key)
    select contacts_added.source_key
    from contacts_added
    semi join stored
        on contacts_added.source_key = stored.source_key
    union
    select 'sales:' || touchpoint_id as source_key from changed_sales
    union
    select 'sales:' || touchpoint_id as source_key from gone_sales

),

sessions as (

    select all_sessions.*
    from all_sessions
    where all_sessions.user_pseudo_id in (
        select substr(replaced.source_key, length('web:') + 1)
        from replaced
        where starts_with(replaced.source_key, 'web:')
    )

),

-- the activities of the rebuilt addresses: every one loaded since the last build, and the
-- earlier ones stored under such an address (each earlier click is), so that the JSON of
-- the others is not read
stored_clicks as (

    select substr(stored.touchpoint_id, length('email:') + 1) as activity_id
    from stored
    semi join replaced
        on stored.source_key = replaced.source_key
    where starts_with(stored.source_key, 'email:')

),

email_activity as (

    select changed_activity.*
    from changed_activity
    union all
    select all_email_activity.*
    from all_email_activity
    semi join stored_clicks
        on all_email_activity.activity_id = stored_clicks.activity_id
    where all_email_activity.loaded_at <= (select built.activity_loaded_at from built)

),

{% else %}

    sessions as (

        select * from all_sessions

    ),

    email_activity as (

        select * from all_email_activity

    ),

{% endif %}

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
        cast(null as varchar) as owner_id,
        'web:' || sessions.user_pseudo_id as source_key,
        sessions.built_at as source_changed_at

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
        cast(null as varchar) as owner_id,
        {{ email_source_key('email_activity.email_address') }} as source_key,
        email_activity.loaded_at as source_changed_at

    from email_activity
    left join leads
        on {{ normalised_email('email_activity.email_address') }} = leads.person_identity
    left join email_campaigns
        on email_activity.campaign_id = email_campaigns.campaign_id
    where email_activity.action = 'click'

),

touches as (

    select * from session_touches
    union all
    select * from email_touches
    union all
    select * from crm_touches

),

final as (

    {% if is_incremental() -%}
        select
            *,
            cast(now() as timestamp) as built_at
        from touches
        where
            not starts_with(source_key, 'sales:')
            or source_key in (select replaced.source_key from replaced)
        -- one row naming each rebuilt key (touchpoint_id null): a key left without touches
        -- is emptied too
        union all by name
        select source_key from replaced
    {%- else -%}
        select
            *,
            cast(now() as timestamp) as built_at
        from touches
    {%- endif %}

)

select * from final
