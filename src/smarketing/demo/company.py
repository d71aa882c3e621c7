"""The demo company: one deterministic world that all four sources describe consistently.

The same people flow through every source: an ad click or search brings a visitor to the
website (GA4 events carrying UTM values and the Google click id), some fill in a form and
become CRM contacts (HubSpot, with the GA client id captured by a hidden form field), the
marketing team e-mails them (Mailchimp), sales works them (calls, e-mails and meetings logged
in the CRM), qualifies them and opens deals that are won or lost; some deals bring in a
colleague from the same company (a buying committee: a deal with two contacts). Every contact
belongs to a CRM company. Paid clicks are exactly the paid sessions, so spend, sessions and
leads agree; every Google Ads click is also in the click_view report with its click id.
Google Ads auto-tagging means some paid search visits arrive with the gclid only and no UTM
values: the warehouse must recover their channel and campaign through the click id.

Everything is drawn from ``random.Random`` seeded per day (sales work and buying committees
from their own RNGs seeded per contact, so they never shift the per-day draws), so a given
seed, scale and date range always produce byte-identical files. Whether a paid search visit
arrives auto-tagged is decided by an RNG of its own per session, for the same reason. The
generator also writes the *ground truth* (computed from its own model, not from the files)
that tests compare published numbers with.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from smarketing.demo import disposition
from smarketing.demo.fx import daily_rates, to_reporting_cents

# Acquisition channels of new visitors and their share of traffic.
ACQUISITION_MIX: tuple[tuple[str, float], ...] = (
    ("paid_search", 0.25),
    ("paid_social", 0.20),
    ("organic_search", 0.30),
    ("direct", 0.15),
    ("referral", 0.10),
)
GOOGLE_CAMPAIGNS = (("1001", "brand_search"), ("1002", "generic_search"))
GOOGLE_CUSTOMER_ID = "1234567890"
# share of paid search visits that land with the auto-tagged gclid only (no UTM values)
P_AUTOTAG = 0.3
META_CAMPAIGNS = (("2001", "prospecting"), ("2002", "retargeting"))
REFERRERS = ("partner-blog.com", "g2.com", "news.ycombinator.com")
OWNERS = ("501", "502", "503", "504")
VISITORS_PER_DAY = 200  # at scale 1.0
OFFLINE_LEADS_PER_DAY = 1.5  # trade shows, outbound: CRM contacts with no web visit
P_LEAD, P_MQL, P_SQL, P_OPP, P_WON, P_LOST = 0.08, 0.6, 0.6, 0.7, 0.4, 0.45
SITE = "https://www.acme-analytics.example"
FIRST_NAMES = ("ada", "alan", "grace", "linus", "margaret", "edsger", "barbara", "ken", "radia")
LAST_NAMES = ("lovelace", "turing", "hopper", "torvalds", "hamilton", "dijkstra", "liskov")
COMPANIES = ("initech", "globex", "umbrella", "hooli", "vandelay", "acme", "wayne", "stark")
# HubSpot company id, industry (HubSpot's enumeration) and head count, fixed per company.
COMPANY_BASE_ID = 300_001
INDUSTRIES = (
    ("COMPUTER_SOFTWARE", 120),
    ("LOGISTICS_AND_SUPPLY_CHAIN", 2_400),
    ("PHARMACEUTICALS", 9_000),
    ("INTERNET", 1_500),
    ("IMPORT_AND_EXPORT", 45),
    ("MACHINERY", 650),
    ("FINANCIAL_SERVICES", 30_000),
    ("DEFENSE_AND_SPACE", 12_000),
)
P_WORKED, P_SALES_EMAIL, P_COLLEAGUE = 0.7, 0.5, 0.25
# HubSpot's default call outcomes (hs_call_disposition is the outcome's GUID)
CALL_DISPOSITIONS = (
    "f240bbac-87c9-4f6e-bf70-924b57d47db7",  # connected
    "b2cf5968-551e-4856-9783-52b3da59a7d0",  # left voicemail
    "73a0d17f-1163-4015-bdd5-ec830791da20",  # no answer
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff",  # left live message
)
ENGAGEMENT_KINDS = ("call", "email", "meeting")


def company_id(name: str) -> str:
    """HubSpot id of one of the demo's companies (``name`` in any case)."""
    return str(COMPANY_BASE_ID + COMPANIES.index(name.lower()))


def _micros(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000 + ts.microsecond


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# HubSpot's wire variety, decided by record id (never by a random draw, so every per-day
# draw and every figure of the ground truth stay as they were):
# * timestamps come as ISO with milliseconds, ISO without them, epoch milliseconds, and a
#   date property as a plain date;
# * some contacts have no e-mail (a colleague known by phone only);
# * an open deal may have no amount yet (sales fills it in when it closes);
# * a deal in the account's company currency (USD) may have no deal_currency_code;
# * deals come in three currencies (USD, EUR, GBP).
HUBSPOT_SOURCES = {  # channel -> hs_analytics_source (HubSpot's original source values)
    "paid_search": "PAID_SEARCH",
    "paid_social": "PAID_SOCIAL",
    "email": "EMAIL_MARKETING",
    "organic_search": "ORGANIC_SEARCH",
    "referral": "REFERRALS",
    "direct": "DIRECT_TRAFFIC",
    "offline": "OFFLINE",
}


def _hs_time(ts: datetime, key: int) -> str:
    """One timestamp in one of the forms HubSpot sends, chosen by a record's number."""
    form = key % 4
    if form == 1:
        return str(int(ts.timestamp() * 1000))  # epoch milliseconds
    if form == 2 and ts.microsecond == 0:
        return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # without milliseconds
    return _iso(ts)


def _seq(c: Contact) -> int:
    return int(c.contact_id) % 100_000


def _has_email(c: Contact) -> bool:
    """Colleagues (never sent a newsletter) are sometimes known by phone only."""
    return c.primary_id is None or _seq(c) % 3 != 0


def _priced_while_open(c: Contact) -> bool:
    """Every fifth open deal has no amount until it closes: pipeline of unknown value."""
    return _seq(c) % 5 != 2


def _amount_known(c: Contact) -> bool:
    """The deal's amount is on the CRM at the world's horizon (closed, or priced while open)."""
    return c.won_at is not None or c.lost_at is not None or _priced_while_open(c)


def _is_open(c: Contact) -> bool:
    return c.deal_id is not None and c.won_at is None and c.lost_at is None


def _currency_on_the_wire(c: Contact) -> str | None:
    """Some deals in the company currency (USD) leave deal_currency_code empty."""
    return None if c.currency == "USD" and _seq(c) % 4 == 1 else c.currency


@dataclass
class Session:
    """One website session of a visitor, as the world knows it."""

    user_pseudo_id: str
    session_id: int
    started_at: datetime
    channel: str
    source: str | None
    medium: str | None
    campaign: str | None
    gclid: str | None
    pages: int
    lead_form: bool = False
    # Google Ads auto-tagging: the landing URL carries the gclid and no UTM values (source,
    # medium and campaign above stay the truth the warehouse must recover via the click id)
    autotagged: bool = False


@dataclass
class Contact:
    """A CRM contact and the stage dates the world gives it."""

    contact_id: str
    email: str
    firstname: str
    lastname: str
    company: str
    company_id: str
    owner_id: str
    channel: str
    campaign: str | None
    ga_client_id: str | None
    lead_at: datetime
    mql_at: datetime | None = None
    sql_at: datetime | None = None
    opportunity_at: datetime | None = None
    deal_id: str | None = None
    amount_cents: int | None = None  # in ``currency``
    currency: str = "USD"
    won_at: datetime | None = None
    lost_at: datetime | None = None
    # where the contact's sales qualification falls if the world ran on forever: sales work
    # depends on it, and must not change when the date range grows
    planned_sql_at: datetime | None = field(default=None, repr=False)
    # a colleague from the same company added to this contact's deal (buying committee)
    colleague: Contact | None = field(default=None, repr=False, compare=False)
    primary_id: str | None = None  # set on a colleague: the contact whose deal it joined


@dataclass
class SalesTouch:
    """A sales engagement logged in the CRM against one contact."""

    engagement_id: str
    kind: str  # call | email | meeting
    contact_id: str
    owner_id: str
    at: datetime
    duration_ms: int = 0  # calls
    disposition: str = ""  # calls


@dataclass
class World:
    """Everything generated for one seed, scale and date range."""

    start: date
    end: date  # inclusive: the world knows nothing after end 23:59:59 UTC
    sessions: list[Session] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    email_campaigns: list[dict] = field(default_factory=list)
    email_activity: list[dict] = field(default_factory=list)
    google_rows: list[dict] = field(default_factory=list)
    google_clicks: list[dict] = field(default_factory=list)  # click_view rows
    meta_rows: list[dict] = field(default_factory=list)
    sales_touches: list[SalesTouch] = field(default_factory=list)

    @property
    def horizon(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time(), UTC)


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _pick_channel(rng: random.Random) -> str:
    roll, acc = rng.random(), 0.0
    for channel, share in ACQUISITION_MIX:
        acc += share
        if roll < acc:
            return channel
    return ACQUISITION_MIX[-1][0]


def _traffic(rng: random.Random, channel: str) -> tuple[str | None, str | None, str | None]:
    if channel == "paid_search":
        return "google", "cpc", rng.choice(GOOGLE_CAMPAIGNS)[1]
    if channel == "paid_social":
        return "facebook", "paid_social", rng.choice(META_CAMPAIGNS)[1]
    if channel == "organic_search":
        return rng.choice(("google", "bing")), "organic", None
    if channel == "referral":
        return rng.choice(REFERRERS), "referral", None
    return None, None, None  # direct


def generate(seed: int, scale: float, start: date, end: date) -> World:
    """Build the demo world. Each day has its own RNG, so days do not depend on each other."""
    world = World(start=start, end=end)
    horizon = world.horizon
    contact_seq = 0
    for day in _days(start, end):
        rng = random.Random(f"{seed}:{day.isoformat()}")
        day_start = datetime.combine(day, datetime.min.time(), UTC)
        n_visitors = max(0, round(VISITORS_PER_DAY * scale * rng.uniform(0.8, 1.2)))
        paid_clicks: dict[str, int] = defaultdict(int)
        for _ in range(n_visitors):
            channel = _pick_channel(rng)
            source, medium, campaign = _traffic(rng, channel)
            started = day_start + timedelta(seconds=rng.randrange(0, 86_400 - 3_600))
            pseudo = f"{rng.getrandbits(31)}.{int(started.timestamp())}"
            gclid = f"Cj0K{rng.getrandbits(48):012x}" if channel == "paid_search" else None
            session = Session(
                user_pseudo_id=pseudo,
                session_id=int(started.timestamp()),
                started_at=started,
                channel=channel,
                source=source,
                medium=medium,
                campaign=campaign,
                gclid=gclid,
                pages=rng.randint(1, 4),
            )
            world.sessions.append(session)
            if gclid is not None:
                # its own RNG: the per-day draw sequence stays as it was
                autotag = random.Random(f"{seed}:autotag:{pseudo}:{session.session_id}")
                session.autotagged = autotag.random() < P_AUTOTAG
                world.google_clicks.append(_click_view(session))
            if channel in ("paid_search", "paid_social"):
                paid_clicks[campaign or ""] += 1
            # Draw every number before comparing with the horizon, so that a longer date
            # range never changes what an earlier day looks like.
            returns = rng.random() < 0.15
            back_delay, back_pages = rng.randrange(86_400, 6 * 86_400), rng.randint(1, 3)
            back = started + timedelta(seconds=back_delay)
            if returns and back < horizon:  # some come back directly a few days later
                world.sessions.append(
                    Session(
                        pseudo,
                        int(back.timestamp()),
                        back,
                        "direct",
                        None,
                        None,
                        None,
                        None,
                        back_pages,
                    )
                )
            if rng.random() < P_LEAD:
                session.lead_form = True
                contact_seq += 1
                # The contact is created a few seconds after the form's generate_lead event.
                lead_at = started + timedelta(
                    seconds=60 * (session.pages + 1) + rng.randrange(5, 60)
                )
                world.contacts.append(
                    _contact(rng, day, contact_seq, lead_at, channel, campaign, pseudo, horizon)
                )
        n_offline = _poisson(rng, OFFLINE_LEADS_PER_DAY * max(scale, 0.0))
        for _ in range(n_offline):
            contact_seq += 1
            lead_at = day_start + timedelta(seconds=rng.randrange(8 * 3_600, 18 * 3_600))
            world.contacts.append(
                _contact(rng, day, contact_seq, lead_at, "offline", None, None, horizon)
            )
        _ads_for_day(world, rng, day, paid_clicks)
        if day.weekday() == 1:  # Tuesday newsletter
            _newsletter(world, rng, day, horizon)
    # After the day loop, from per-contact RNGs: the per-day draws above stay as they were
    # (colleagues join after the newsletters were drawn, so they receive none).
    contacts: list[Contact] = []
    for c in world.contacts:
        contacts.append(c)
        colleague = _colleague(seed, c, horizon)
        if colleague is not None:
            contacts.append(colleague)
        world.sales_touches.extend(_sales_touches(seed, c, horizon))
        # sales' decisions on the MQL (lead status, reason, re-qualification): own RNG
        c.lead_disposition = disposition.plan(c, horizon)  # type: ignore[attr-defined]
    world.contacts = contacts
    return world


def _sales_touches(seed: int, c: Contact, horizon: datetime) -> list[SalesTouch]:
    """Calls, e-mails and a meeting by the contact's owner after it became an MQL.

    Every number is drawn before anything is compared with the horizon, and the touches
    follow the contact's planned qualification, so a longer range never changes them.
    """
    if c.mql_at is None:
        return []
    rng = random.Random(f"{seed}:sales:{c.contact_id}")
    worked_roll = rng.random()
    delay = timedelta(seconds=round(rng.uniform(0.25, 60) * 3_600))
    email_roll = rng.random()
    duration_ms = rng.randrange(30, 1_800) * 1_000
    disposition = rng.choice(CALL_DISPOSITIONS)
    sql = c.planned_sql_at
    if not (sql is not None or worked_roll < P_WORKED):
        return []
    first = c.mql_at + delay
    if sql is not None and first >= sql:
        first = c.mql_at + timedelta(seconds=(sql - c.mql_at).total_seconds() // 2)
    touches = [
        SalesTouch(
            f"{c.contact_id}1", "call", c.contact_id, c.owner_id, first, duration_ms, disposition
        )
    ]
    if email_roll < P_SALES_EMAIL:
        touches.append(
            SalesTouch(
                f"{c.contact_id}2", "email", c.contact_id, c.owner_id, first + timedelta(days=1)
            )
        )
    if sql is not None:
        touches.append(SalesTouch(f"{c.contact_id}3", "meeting", c.contact_id, c.owner_id, sql))
    return [t for t in touches if t.at < horizon]


def _colleague(seed: int, c: Contact, horizon: datetime) -> Contact | None:
    """Sometimes a colleague joins the deal an hour after it opened: a second deal contact."""
    if c.opportunity_at is None or c.primary_id is not None:
        return None
    rng = random.Random(f"{seed}:committee:{c.contact_id}")
    joins = rng.random() < P_COLLEAGUE
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    lead_at = c.opportunity_at + timedelta(hours=1)
    if not joins or lead_at >= horizon:
        return None
    seq = int(c.contact_id) - 100_000
    domain = c.company.lower()
    colleague = Contact(
        contact_id=str(200_000 + seq),
        email=f"{first}.{last}.c{seq}@{domain}.example",
        firstname=first.title(),
        lastname=last.title(),
        company=c.company,
        company_id=c.company_id,
        owner_id=c.owner_id,
        channel="offline",
        campaign=None,
        ga_client_id=None,
        lead_at=lead_at,
        primary_id=c.contact_id,
    )
    c.colleague = colleague
    return colleague


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson draw: small lambdas only."""
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _contact(
    rng: random.Random,
    day: date,
    seq: int,
    lead_at: datetime,
    channel: str,
    campaign: str | None,
    ga_client_id: str | None,
    horizon: datetime,
) -> Contact:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    company = rng.choice(COMPANIES)
    contact_id = str(100_000 + seq)
    # Mixed case and padding on purpose: identity stitching must normalise e-mails.
    email = f"{first}.{last}.{seq}@{company}.example"
    if seq % 7 == 0:
        email = f" {email.upper()} "
    contact = Contact(
        contact_id=contact_id,
        email=email,
        firstname=first.title(),
        lastname=last.title(),
        company=company.title(),
        company_id=company_id(company),
        owner_id=rng.choice(OWNERS),
        channel=channel,
        campaign=campaign,
        ga_client_id=ga_client_id,
        lead_at=lead_at,
    )

    # Draw every number up front so the world does not depend on the horizon.
    rolls = [rng.random() for _ in range(5)]
    amount_cents = rng.randrange(2_000_00, 40_000_00)
    delay_seconds = [
        round(rng.uniform(lo, hi) * 3_600)
        for lo, hi in ((0.5, 72), (1, 120), (24, 240), (5 * 24, 45 * 24))
    ]
    delays = iter(delay_seconds)
    if rolls[0] < P_MQL and rolls[1] < P_SQL:
        contact.planned_sql_at = lead_at + timedelta(seconds=sum(delay_seconds[:2]))

    def later(ts: datetime) -> datetime | None:
        nxt = ts + timedelta(seconds=next(delays))
        return nxt if nxt < horizon else None

    if rolls[0] < P_MQL and (mql := later(lead_at)):
        contact.mql_at = mql
        if rolls[1] < P_SQL and (sql := later(mql)):
            contact.sql_at = sql
            if rolls[2] < P_OPP and (opp := later(sql)):
                contact.opportunity_at = opp
                contact.deal_id = str(900_000 + seq)
                contact.amount_cents = amount_cents
                # European customers are billed in euros, British ones in pounds
                contact.currency = {3: "EUR", 5: "GBP"}.get(seq % 8, "USD")
                close = later(opp)
                if close is not None and rolls[3] < P_WON:
                    contact.won_at = close
                elif close is not None and rolls[4] < P_LOST / (1 - P_WON):
                    contact.lost_at = close
    return contact


def _ads_for_day(world: World, rng: random.Random, day: date, clicks: dict[str, int]) -> None:
    """Ad platform rows: clicks equal the paid sessions that landed that day per campaign."""
    for campaign_id, name in GOOGLE_CAMPAIGNS:
        n = clicks.get(name, 0)
        cpc_cents = rng.randint(120, 350)
        world.google_rows.append(
            {
                "customer": {"id": GOOGLE_CUSTOMER_ID, "currencyCode": "USD"},
                "campaign": {"id": campaign_id, "name": name},
                "adGroup": {"id": f"{campaign_id}01"},
                "segments": {"date": day.isoformat()},
                "metrics": {
                    "impressions": str(n * rng.randint(15, 40) + rng.randint(0, 50)),
                    "clicks": str(n),
                    "costMicros": str(n * cpc_cents * 10_000),
                },
            }
        )
    for campaign_id, name in META_CAMPAIGNS:
        n = clicks.get(name, 0)
        spend_cents = n * rng.randint(60, 180) + rng.randint(0, 500)
        world.meta_rows.append(
            {
                "account_id": "987654",
                "account_currency": "EUR",  # the Meta ad account bills in euros
                "campaign_id": campaign_id,
                "campaign_name": name,
                "date_start": day.isoformat(),
                "date_stop": day.isoformat(),
                "impressions": str(n * rng.randint(40, 90) + rng.randint(0, 200)),
                "clicks": str(n),
                "spend": f"{spend_cents // 100}.{spend_cents % 100:02d}",
            }
        )


def _click_view(session: Session) -> dict:
    """The Google Ads click_view row of one paid search session (searchStream JSON)."""
    assert session.gclid is not None and session.campaign is not None
    campaign_id = next(cid for cid, name in GOOGLE_CAMPAIGNS if name == session.campaign)
    ad_group_id = f"{campaign_id}01"
    day = session.started_at.date().isoformat()
    customer = f"customers/{GOOGLE_CUSTOMER_ID}"
    return {
        "clickView": {
            "resourceName": f"{customer}/clickViews/{day}~{session.gclid}",
            "gclid": session.gclid,
            "adGroupAd": f"{customer}/adGroupAds/{ad_group_id}~{ad_group_id}1",
        },
        "campaign": {
            "resourceName": f"{customer}/campaigns/{campaign_id}",
            "id": campaign_id,
            "name": session.campaign,
        },
        "adGroup": {"resourceName": f"{customer}/adGroups/{ad_group_id}", "id": ad_group_id},
        "segments": {"date": day},
    }


def _newsletter(world: World, rng: random.Random, day: date, horizon: datetime) -> None:
    """A weekly campaign to every contact known before send time; clicks become web sessions."""
    send = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15)
    campaign_id = f"nl{day.strftime('%Y%m%d')}"
    name = f"newsletter_{day.isoformat()}"
    world.email_campaigns.append(
        {
            "id": campaign_id,
            "type": "regular",
            "status": "sent",
            "create_time": _iso(send - timedelta(days=1)),
            "send_time": _iso(send),
            "settings": {"title": name, "subject_line": f"Acme Analytics weekly, {day}"},
            "recipients": {"list_id": "list001"},
        }
    )
    for contact in world.contacts:
        if contact.lead_at >= send:
            continue
        member = contact.email.strip().lower()
        opened, clicked = rng.random() < 0.35, rng.random() < 0.2
        ts = send + timedelta(minutes=rng.randint(5, 2_000))
        cts = ts + timedelta(seconds=rng.randint(5, 120))
        pages = rng.randint(1, 3)
        if opened and ts < horizon:
            world.email_activity.append(_activity(campaign_id, member, "open", ts))
            if clicked and cts < horizon:
                url = f"{SITE}/blog?utm_source=mailchimp&utm_medium=email&utm_campaign={name}"
                world.email_activity.append(_activity(campaign_id, member, "click", cts, url))
                if contact.ga_client_id:
                    world.sessions.append(
                        Session(
                            contact.ga_client_id,
                            int(cts.timestamp()),
                            cts,
                            "email",
                            "mailchimp",
                            "email",
                            name,
                            None,
                            pages,
                        )
                    )


def _activity(campaign_id: str, email: str, action: str, ts: datetime, url: str = "") -> dict:
    """One recipient action, shaped as the email connector lands it."""
    row = {
        "campaign_id": campaign_id,
        "list_id": "list001",
        "email_id": hashlib.md5(email.lower().encode()).hexdigest(),  # Mailchimp's hash
        "email_address": email,
        "action": action,
        "timestamp": _iso(ts),
    }
    if url:
        row["url"] = url
    return row


# --------------------------------------------------------------------------- vendor files


def _ga4_events(session: Session) -> list[dict]:
    """GA4 BigQuery export rows for one session (first_visit/session_start/page_view/lead)."""
    base_params = [{"key": "ga_session_id", "value": {"int_value": session.session_id}}]
    query = ""
    traffic = None
    if session.autotagged:  # Google Ads auto-tagging: the click id and nothing else
        query = f"?gclid={session.gclid}"
        traffic = {
            "manual_source": None,
            "manual_medium": None,
            "manual_campaign_name": None,
            "gclid": session.gclid,
        }
    elif session.source:
        query = f"?utm_source={session.source}&utm_medium={session.medium}"
        if session.campaign:
            query += f"&utm_campaign={session.campaign}"
        if session.gclid:
            query += f"&gclid={session.gclid}"
        traffic = {
            "manual_source": session.source,
            "manual_medium": session.medium,
            "manual_campaign_name": session.campaign,
            "gclid": session.gclid,
        }
    rows = []
    names = ["session_start"] + ["page_view"] * session.pages
    if session.lead_form:
        names.append("generate_lead")
    for i, name in enumerate(names):
        ts = session.started_at + timedelta(seconds=60 * i)
        page = f"{SITE}/{'pricing' if name == 'generate_lead' else 'home'}{query if i == 0 else ''}"
        rows.append(
            {
                "event_date": ts.strftime("%Y%m%d"),
                "event_timestamp": _micros(ts) + i,
                "event_name": name,
                "user_pseudo_id": session.user_pseudo_id,
                "user_id": None,
                "event_params": [
                    *base_params,
                    {"key": "page_location", "value": {"string_value": page}},
                ],
                "collected_traffic_source": traffic,
                "platform": "WEB",
            }
        )
    return rows


def _contact_state(c: Contact, as_of: datetime) -> dict:
    """HubSpot v3 contact object as the API would return it at ``as_of``."""
    stages = [
        ("lead", c.lead_at),
        ("marketingqualifiedlead", c.mql_at),
        ("salesqualifiedlead", c.sql_at),
        ("opportunity", c.opportunity_at),
        ("customer", c.won_at),
    ]
    reached = [(s, ts) for s, ts in stages if ts is not None and ts <= as_of]
    props = {
        "email": c.email if _has_email(c) else None,
        "firstname": c.firstname,
        "lastname": c.lastname,
        "company": c.company,
        "associatedcompanyid": c.company_id,
        "hubspot_owner_id": c.owner_id,
        "ga_client_id": c.ga_client_id,
        # HubSpot's original source: the channel of the first visit, else offline
        "hs_analytics_source": HUBSPOT_SOURCES[c.channel],
        "createdate": _hs_time(c.lead_at, _seq(c)),
        "lifecyclestage": reached[-1][0],
    }
    for stage, ts in reached:
        props[f"hs_lifecyclestage_{stage}_date"] = _hs_time(ts, _seq(c) + 1)
    decided = disposition.add_properties(c, as_of, props)  # hs_lead_status and reason
    modified = max(reached[-1][1], decided) if decided else reached[-1][1]
    props["lastmodifieddate"] = _iso(modified)
    return {
        "id": c.contact_id,
        "properties": props,
        "createdAt": _iso(c.lead_at),
        "updatedAt": _iso(modified),
        "archived": False,
    }


def _deal_state(c: Contact, as_of: datetime) -> dict:
    assert c.opportunity_at is not None and c.amount_cents is not None
    stage, modified, closedate = "appointmentscheduled", c.opportunity_at, None
    contacts = [c.contact_id]
    if c.colleague is not None and c.colleague.lead_at <= as_of:
        modified = c.colleague.lead_at  # the association change modifies the deal
        contacts.append(c.colleague.contact_id)
    if c.won_at and c.won_at <= as_of:
        stage, modified, closedate = "closedwon", c.won_at, c.won_at
    elif c.lost_at and c.lost_at <= as_of:
        stage, modified, closedate = "closedlost", c.lost_at, c.lost_at
    priced = closedate is not None or _priced_while_open(c)
    return {
        "id": c.deal_id,
        "properties": {
            "dealname": f"{c.company} - Acme Analytics",
            "amount": f"{c.amount_cents // 100}.{c.amount_cents % 100:02d}" if priced else None,
            "deal_currency_code": _currency_on_the_wire(c),
            "dealstage": stage,
            "pipeline": "default",
            "hubspot_owner_id": c.owner_id,
            "createdate": _hs_time(c.opportunity_at, _seq(c) + 2),
            "closedate": _hs_time(closedate, _seq(c) + 3) if closedate else None,
            "hs_lastmodifieddate": _iso(modified),
        },
        "associations": _contact_associations("deal", contacts),
        "createdAt": _iso(c.opportunity_at),
        "updatedAt": _iso(modified),
        "archived": False,
    }


def _contact_associations(kind: str, contact_ids: list[str]) -> dict:
    """``associations`` as the connector attaches them from the v4 batch read."""
    return {"contacts": {"results": [{"id": i, "type": f"{kind}_to_contact"} for i in contact_ids]}}


def _versions(c: Contact) -> tuple[list[dict], list[dict]]:
    """Every state a contact and its deal pass through: what an incremental API sees."""
    changes = [
        t for t in (c.lead_at, c.mql_at, c.sql_at, c.opportunity_at, c.won_at, c.lost_at) if t
    ]
    plan = getattr(c, "lead_disposition", None)  # sales' decisions change the contact too
    decided = plan.change_times() if plan else []
    changes = sorted([*changes, *(t for t in decided if t not in changes)])
    contacts = [_contact_state(c, ts) for ts in changes]
    deals = []
    if c.opportunity_at is not None:
        deal_changes = sorted(
            t
            for t in (
                c.opportunity_at,
                c.colleague.lead_at if c.colleague else None,
                c.won_at,
                c.lost_at,
            )
            if t
        )
        deals = [_deal_state(c, ts) for ts in deal_changes]
    return contacts, deals


def _companies(world: World) -> list[dict]:
    """HubSpot companies, created with their first contact (none before it)."""
    first_lead: dict[str, datetime] = {}
    for c in world.contacts:
        if c.company_id not in first_lead or c.lead_at < first_lead[c.company_id]:
            first_lead[c.company_id] = c.lead_at
    out = []
    for index, name in enumerate(COMPANIES):
        cid = company_id(name)
        if cid not in first_lead:
            continue
        created = _iso(first_lead[cid])
        industry, employees = INDUSTRIES[index]
        # a date property as HubSpot sends one: the plain day (every other company)
        first_day = first_lead[cid].date().isoformat() if index % 2 else created
        out.append(
            {
                "id": cid,
                "properties": {
                    "name": name.title(),
                    "domain": f"{name}.example",
                    "industry": industry,
                    "numberofemployees": str(employees),
                    "createdate": first_day,
                    "hs_lastmodifieddate": created,
                },
                "createdAt": created,
                "updatedAt": created,
                "archived": False,
            }
        )
    return out


def _engagement(t: SalesTouch) -> dict:
    """A HubSpot v3 call / email / meeting object with its contact association."""
    ts = _iso(t.at)
    props: dict[str, str | None] = {
        "hs_timestamp": ts,
        "hubspot_owner_id": t.owner_id,
        "hs_createdate": ts,
        "hs_lastmodifieddate": ts,
    }
    if t.kind == "call":
        props |= {
            "hs_call_direction": "OUTBOUND",
            "hs_call_disposition": t.disposition,
            "hs_call_duration": str(t.duration_ms),
            "hs_call_title": "Discovery call",
        }
    elif t.kind == "email":
        # a sales e-mail sent by the rep; its body is never extracted (personal data)
        props |= {
            "hs_email_direction": "EMAIL",
            "hs_email_subject": "Following up on your Acme Analytics enquiry",
        }
    else:
        props |= {
            "hs_meeting_title": "Acme Analytics demo",
            "hs_meeting_start_time": ts,
            "hs_meeting_end_time": _iso(t.at + timedelta(minutes=30)),
            "hs_meeting_outcome": "COMPLETED",
        }
    return {
        "id": t.engagement_id,
        "properties": props,
        "associations": _contact_associations(t.kind, [t.contact_id]),
        "createdAt": ts,
        "updatedAt": ts,
        "archived": False,
    }


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, separators=(",", ":"), sort_keys=True) + "\n")


def write_world(world: World, out_dir: Path, reporting_currency: str = "USD") -> dict:
    """Write the four sources' vendor-shaped files and ground_truth.json (money in
    ``reporting_currency``); return the truth."""
    out_dir.mkdir(parents=True, exist_ok=True)
    contact_versions, deal_versions = [], []
    for c in world.contacts:
        contact_states, deal_states = _versions(c)
        contact_versions.extend(contact_states)
        deal_versions.extend(deal_states)
    _write_jsonl(out_dir / "crm" / "contacts.jsonl", contact_versions)
    _write_jsonl(out_dir / "crm" / "deals.jsonl", deal_versions)
    _write_jsonl(out_dir / "crm" / "companies.jsonl", _companies(world))
    for kind in ENGAGEMENT_KINDS:
        rows = [_engagement(t) for t in world.sales_touches if t.kind == kind]
        _write_jsonl(out_dir / "crm" / f"{kind}s.jsonl", rows)
    _write_jsonl(out_dir / "email" / "campaigns.jsonl", world.email_campaigns)
    _write_jsonl(out_dir / "email" / "email_activity.jsonl", world.email_activity)
    _write_jsonl(out_dir / "ppc" / "google_ads.jsonl", world.google_rows)
    clicks = sorted(
        world.google_clicks, key=lambda r: (r["segments"]["date"], r["clickView"]["gclid"])
    )
    _write_jsonl(out_dir / "ppc" / "google_ads_clicks.jsonl", clicks)
    _write_jsonl(out_dir / "ppc" / "meta_insights.jsonl", world.meta_rows)
    by_day: dict[str, list[dict]] = defaultdict(list)
    for session in sorted(world.sessions, key=lambda s: (s.started_at, s.user_pseudo_id)):
        for row in _ga4_events(session):
            by_day[row["event_date"]].append(row)
    web_dir = out_dir / "web"
    web_dir.mkdir(parents=True, exist_ok=True)
    for old in web_dir.glob("events_*.jsonl"):
        old.unlink()
    for yyyymmdd, rows in sorted(by_day.items()):
        _write_jsonl(web_dir / f"events_{yyyymmdd}.jsonl", rows)
    truth = ground_truth(world, reporting_currency)
    (out_dir / "ground_truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True))
    return truth


def ground_truth(world: World, reporting_currency: str = "USD") -> dict:
    """Numbers a correct pipeline must publish, computed from the world model itself.

    Money is in ``reporting_currency`` (default USD, the pipeline's default), converted per
    row through the euro at the ECB rate of its day (spend: the stats day; won revenue: the
    day the deal was won), rounded to the cent.

    A deal belongs to its primary contact (the associated contact created first): revenue,
    the funnel and the account are counted once, for the primary. Colleagues added to a
    deal are ordinary offline leads without a deal of their own.
    """
    rates = daily_rates()
    daily: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(
            (
                "spend_cents",
                "impressions",
                "clicks",
                "sessions",
                "leads",
                "won_deals",
                "won_revenue_cents",
            ),
            0,
        )
    )
    for s in world.sessions:
        daily[(s.started_at.date().isoformat(), s.channel)]["sessions"] += 1
    platform_day: dict[tuple[str, str], int] = defaultdict(int)
    for row in world.google_rows:
        cell = daily[(row["segments"]["date"], "paid_search")]
        spend = to_reporting_cents(
            int(row["metrics"]["costMicros"]) // 10_000,
            row["customer"]["currencyCode"],
            date.fromisoformat(row["segments"]["date"]),
            rates,
            reporting_currency,
        )
        cell["spend_cents"] += spend
        platform_day[(row["segments"]["date"], "google_ads")] += spend
        cell["impressions"] += int(row["metrics"]["impressions"])
        cell["clicks"] += int(row["metrics"]["clicks"])
    for row in world.meta_rows:
        cell = daily[(row["date_start"], "paid_social")]
        units, cents = row["spend"].split(".")
        spend = to_reporting_cents(
            int(units) * 100 + int(cents),
            row["account_currency"],
            date.fromisoformat(row["date_start"]),
            rates,
            reporting_currency,
        )
        cell["spend_cents"] += spend
        platform_day[(row["date_start"], "meta_ads")] += spend
        cell["impressions"] += int(row["impressions"])
        cell["clicks"] += int(row["clicks"])
    touches: dict[str, list[SalesTouch]] = defaultdict(list)
    for t in world.sales_touches:
        touches[t.contact_id].append(t)
    # the first sales touch answering an MQL: at or after the MQL date
    first_touch: dict[str, datetime] = {}
    stages = ("leads", "mqls", "sqls", "opportunities", "won_deals", "lost_deals")
    funnel: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(stages, 0))
    by_month: dict[str, int] = defaultdict(int)
    sla: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("mqls", "worked", "worked_within_24h", "never_worked"), 0)
    )
    names = {company_id(n): n.title() for n in COMPANIES}
    accounts: dict[str, dict] = {}
    leads = {}
    won_usd: dict[str, int] = {}
    for c in world.contacts:
        reached = (c.lead_at, c.mql_at, c.sql_at, c.opportunity_at, c.won_at, c.lost_at)
        for stage, ts in zip(stages, reached, strict=True):
            funnel[c.channel][stage] += ts is not None
        account = accounts.setdefault(
            c.company_id,
            {"name": names[c.company_id], "contacts": 0, "won_deals": 0, "won_revenue_cents": 0},
        )
        account["contacts"] += 1
        if c.mql_at is not None:
            owner = sla[c.owner_id]
            owner["mqls"] += 1
            worked = [t.at for t in touches.get(c.contact_id, []) if t.at >= c.mql_at]
            if worked:
                first_touch[c.contact_id] = min(worked)
                owner["worked"] += 1
                owner["worked_within_24h"] += min(worked) - c.mql_at <= timedelta(hours=24)
            else:
                owner["never_worked"] += 1
        daily[(c.lead_at.date().isoformat(), c.channel)]["leads"] += 1
        if c.won_at is not None:
            cell = daily[(c.won_at.date().isoformat(), c.channel)]
            cell["won_deals"] += 1
            won_usd[c.contact_id] = to_reporting_cents(
                c.amount_cents or 0, c.currency, c.won_at.date(), rates, reporting_currency
            )
            cell["won_revenue_cents"] += won_usd[c.contact_id]
            by_month[c.won_at.strftime("%Y-%m")] += won_usd[c.contact_id]
            account["won_deals"] += 1
            account["won_revenue_cents"] += won_usd[c.contact_id]
        leads[c.contact_id] = {
            "channel": c.channel,
            "campaign": c.campaign,
            "lead_at": _iso(c.lead_at),
            **{
                k: _iso(v) if v else None
                for k, v in (
                    ("mql_at", c.mql_at),
                    ("sql_at", c.sql_at),
                    ("opportunity_at", c.opportunity_at),
                    ("won_at", c.won_at),
                    ("lost_at", c.lost_at),
                )
            },
            "deal_id": c.deal_id,
            # as the CRM knows it at the horizon: an open deal may not be priced yet
            "amount_cents": c.amount_cents if c.deal_id and _amount_known(c) else None,
            "currency": c.currency if c.deal_id else None,
            "company_id": c.company_id,
            # a colleague who joined another contact's deal (its buying group), else None
            "joined_deal_of": c.primary_id,
            "owner_id": c.owner_id,
            "first_sales_touch_at": (
                _iso(first_touch[c.contact_id]) if c.contact_id in first_touch else None
            ),
        }
    rows = [{"date_day": d, "channel": ch, **vals} for (d, ch), vals in sorted(daily.items())]
    totals = {
        "visitors": len({s.user_pseudo_id for s in world.sessions}),
        "sessions": len(world.sessions),
        # paid search sessions with the gclid only (counted as paid_search everywhere)
        "autotagged_sessions": sum(s.autotagged for s in world.sessions),
        "leads": len(world.contacts),
        "won_deals": sum(1 for c in world.contacts if c.won_at),
        "won_revenue_cents": sum(won_usd.values()),
        "spend_cents": sum(r["spend_cents"] for r in rows),
        "sales_touches": len(world.sales_touches),
        "companies": len(accounts),
        # open deals at the horizon, and those of them without an amount (unknown value)
        "open_deals": sum(1 for c in world.contacts if _is_open(c)),
        "unpriced_open_deals": sum(
            1 for c in world.contacts if _is_open(c) and not _amount_known(c)
        ),
        # contacts the CRM knows without an e-mail address (people all the same)
        "contacts_without_email": sum(1 for c in world.contacts if not _has_email(c)),
    }
    return {
        "start": world.start.isoformat(),
        "end": world.end.isoformat(),
        "reporting_currency": reporting_currency,
        "channel_daily": rows,
        "leads": leads,
        "totals": totals,
        "funnel_by_channel": dict(sorted(funnel.items())),
        "won_revenue_by_month": dict(sorted(by_month.items())),
        "spend_by_platform_day": [
            {"date_day": d, "platform": p, "spend_cents": v}
            for (d, p), v in sorted(platform_day.items())
        ],
        "sla_by_owner": dict(sorted(sla.items())),
        "accounts": dict(sorted(accounts.items())),
        "lead_disposition": disposition.ground_truth(world),
    }
