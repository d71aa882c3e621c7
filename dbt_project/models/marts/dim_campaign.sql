{#- Every campaign across Google Ads, Meta, Mailchimp and the website's UTM values, unified
    by channel + normalised (lower-case, trimmed) campaign name: campaign_key. Traffic with
    no campaign (organic, direct, referral, offline, sales) gets one `(none)` row per channel. -#}
with

spend as (

    select * from {{ ref('int_ads__daily_spend') }}

),

email_campaigns as (

    select * from {{ ref('int_email__campaigns') }}

),

sessions as (

    select * from {{ ref('int_web__sessions') }}

),

channels as (

    select * from {{ ref('channels') }}

),

platform_campaigns as (

    select
        channel,
        lower(trim(campaign_name)) as campaign_name,
        platform,
        campaign_id as platform_campaign_id,
        min(date_day) as first_seen_on
    from spend
    group by all

    union all

    select
        'email',
        lower(trim(campaign_name)),
        'mailchimp',
        campaign_id,
        cast(sent_at as date)
    from email_campaigns

),

web_campaigns as (

    select
        channel,
        utm_campaign as campaign_name,
        'web' as platform,
        cast(null as varchar) as platform_campaign_id,
        min(session_date) as first_seen_on
    from sessions
    group by all

),

no_campaign as (

    select
        channel,
        cast(null as varchar),
        'none',
        cast(null as varchar),
        cast(null as date)
    from channels

),

unioned as (

    select
        *,
        1 as preference
    from platform_campaigns
    union all
    select
        *,
        2
    from web_campaigns
    union all
    select
        *,
        3
    from no_campaign

),

final as (

    select
        {{ campaign_key('unioned.channel', 'unioned.campaign_name') }} as campaign_key,
        unioned.channel,
        coalesce(unioned.campaign_name, '(none)') as campaign_name,
        -- the ad or e-mail platform that runs it, else `web` (seen only in UTM values)
        arg_min(unioned.platform, unioned.preference) as platform,
        arg_min(unioned.platform_campaign_id, unioned.preference) as platform_campaign_id,
        min(unioned.first_seen_on) as first_seen_on,
        any_value(channels.channel_group) as channel_group,
        any_value(channels.team) as team,
        coalesce(any_value(channels.is_paid), false) as is_paid

    from unioned
    left join channels
        on unioned.channel = channels.channel
    group by unioned.channel, coalesce(unioned.campaign_name, '(none)')

)

select * from final
