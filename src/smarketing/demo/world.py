"""The demo company itself: people, visits, campaigns, sales work and deals, vendor-free.

The same people flow through every source: an ad click or search brings a visitor to the
website (with UTM values and the Google click id), some fill in a form and become CRM
contacts (with the web analytics client id captured by a hidden form field), the marketing
team e-mails them, sales works them (calls, e-mails and meetings), qualifies them and opens
deals that are won or lost; some deals bring in a colleague from the same company (a buying
committee: a deal with two contacts). Every contact belongs to a company. Paid clicks are
exactly the paid sessions, so spend, sessions and leads agree. Google Ads auto-tagging means
some paid search visits arrive with the click id only and no UTM values: the warehouse must
recover their channel and campaign through the click id.

Nothing here knows a vendor's wire format: ``smarketing.demo.vendors.<vendor>`` renders this
world into each vendor's files and serves its API, ``smarketing.demo.truth`` computes the
numbers a correct pipeline must publish.

Everything is drawn from ``random.Random`` seeded per day (sales work and buying committees
from their own RNGs seeded per contact, so they never shift the per-day draws), so a given
seed, scale and date range always produce the same world. Whether a paid search visit
arrives auto-tagged is decided by an RNG of its own per session, for the same reason. An ad
platform added later simulates its own campaigns (``simulate`` in its demo vendor module,
found through the vendor registry) from RNGs of its own per day, after the company's days.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from smarketing.demo import disposition

# Acquisition channels of new visitors and their share of traffic.
ACQUISITION_MIX: tuple[tuple[str, float], ...] = (
    ("paid_search", 0.25),
    ("paid_social", 0.20),
    ("organic_search", 0.30),
    ("direct", 0.15),
    ("referral", 0.10),
)
# campaigns (id, name) per ad platform, and the currency each ad account bills in
GOOGLE_CAMPAIGNS = (("1001", "brand_search"), ("1002", "generic_search"))
META_CAMPAIGNS = (("2001", "prospecting"), ("2002", "retargeting"))
AD_ACCOUNT_CURRENCY = {"google_ads": "USD", "meta_ads": "EUR"}
# share of paid search visits that land with the auto-tagged gclid only (no UTM values)
P_AUTOTAG = 0.3
REFERRERS = ("partner-blog.com", "g2.com", "news.ycombinator.com")
OWNERS = ("501", "502", "503", "504")
VISITORS_PER_DAY = 200  # at scale 1.0
OFFLINE_LEADS_PER_DAY = 1.5  # trade shows, outbound: CRM contacts with no web visit
P_LEAD, P_MQL, P_SQL, P_OPP, P_WON, P_LOST = 0.08, 0.6, 0.6, 0.7, 0.4, 0.45
SITE = "https://www.acme-analytics.example"
FIRST_NAMES = ("ada", "alan", "grace", "linus", "margaret", "edsger", "barbara", "ken", "radia")
LAST_NAMES = ("lovelace", "turing", "hopper", "torvalds", "hamilton", "dijkstra", "liskov")
COMPANIES = ("initech", "globex", "umbrella", "hooli", "vandelay", "acme", "wayne", "stark")
# the company's CRM id, industry (HubSpot's enumeration) and head count, fixed per company.
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
# how a sales call ended (each CRM names these its own way)
CALL_OUTCOMES = ("connected", "left_voicemail", "no_answer", "left_live_message")
ENGAGEMENT_KINDS = ("call", "email", "meeting")
NEWSLETTER_LIST = "list001"


def company_id(name: str) -> str:
    """CRM id of one of the demo's companies (``name`` in any case)."""
    return str(COMPANY_BASE_ID + COMPANIES.index(name.lower()))


def iso(ts: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a trailing Z (the truth's and most vendors' form)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# What the CRM does not know, decided by record id (never by a random draw, so every per-day
# draw and every figure of the ground truth stay as they are).
def seq(c: Contact) -> int:
    """A contact's running number (the last five digits of its id)."""
    return int(c.contact_id) % 100_000


# Leads are contacts 100000 + their running number and a deal's colleagues 200000 + the
# lead's; from the 100,000th lead on (about scale 60 over 90 days) a lead would take a
# colleague's id, so those leads are numbered 10,000,000 + their running number instead (the
# ids of every smaller company stay as they were).
LEAD_ID_BASE, COLLEAGUE_ID_BASE, WIDE_LEAD_ID_BASE = 100_000, 200_000, 10_000_000


def lead_contact_id(lead_seq: int) -> str:
    """The CRM id of the ``lead_seq``-th lead; never another contact's, at any scale."""
    base = LEAD_ID_BASE if lead_seq < COLLEAGUE_ID_BASE - LEAD_ID_BASE else WIDE_LEAD_ID_BASE
    return str(base + lead_seq)


def lead_seq_of(contact_id: str) -> int:
    """The running number a lead's id was made from (inverse of :func:`lead_contact_id`)."""
    number = int(contact_id)
    return number - (WIDE_LEAD_ID_BASE if number >= WIDE_LEAD_ID_BASE else LEAD_ID_BASE)


def has_email(c: Contact) -> bool:
    """Colleagues (never sent a newsletter) are sometimes known by phone only."""
    return c.primary_id is None or seq(c) % 3 != 0


def priced_while_open(c: Contact) -> bool:
    """Every fifth open deal has no amount until it closes: pipeline of unknown value."""
    return seq(c) % 5 != 2


def amount_known(c: Contact) -> bool:
    """The deal's amount is on the CRM at the world's horizon (closed, or priced while open)."""
    return c.won_at is not None or c.lost_at is not None or priced_while_open(c)


def is_open(c: Contact) -> bool:
    return c.deal_id is not None and c.won_at is None and c.lost_at is None


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
    # further query parameters an ad click's landing URL carries after the UTM values (an ad
    # platform's own click id, e.g. li_fat_id)
    click_params: tuple[tuple[str, str], ...] = ()


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
    outcome: str = ""  # calls: one of CALL_OUTCOMES


@dataclass
class AdDay:
    """One campaign's day on an ad platform: what it showed, was clicked and cost."""

    platform: str  # the vendor's registry name
    campaign_id: str
    campaign_name: str
    day: date
    impressions: int
    clicks: int
    spend_cents: int  # in ``currency``, the ad account's
    currency: str
    channel: str  # the acquisition channel its clicks arrive as


@dataclass
class Newsletter:
    """A weekly e-mail campaign, sent to every contact known before its send time."""

    campaign_id: str
    name: str
    subject: str
    sent_at: datetime


@dataclass
class EmailAction:
    """One recipient's open or click of a newsletter."""

    campaign_id: str
    email: str  # normalised (trimmed, lower case), as the e-mail platform keys its members
    action: str  # open | click
    at: datetime
    url: str = ""  # clicks: the link followed


@dataclass
class World:
    """Everything generated for one seed, scale and date range."""

    start: date
    end: date  # inclusive: the world knows nothing after end 23:59:59 UTC
    sessions: list[Session] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    newsletters: list[Newsletter] = field(default_factory=list)
    email_actions: list[EmailAction] = field(default_factory=list)
    ad_days: list[AdDay] = field(default_factory=list)  # per platform, campaign and day
    sales_touches: list[SalesTouch] = field(default_factory=list)

    @property
    def horizon(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time(), UTC)

    def ad_days_of(self, platform: str) -> list[AdDay]:
        return [a for a in self.ad_days if a.platform == platform]

    def google_ads_clicks(self) -> list[Session]:
        """The paid search sessions, one Google Ads click each, in the order they happened."""
        return [s for s in self.sessions if s.gclid is not None]


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
    # Ad platforms added to the company later (their demo module has ``simulate``) draw their
    # visits and spend from RNGs of their own, after the company's days: every draw above, so
    # every other vendor's file and figure, stays as it was.
    for simulate in _vendor_simulations():
        simulate(world, seed, scale)
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


def _vendor_simulations() -> list[Callable[[World, int, float], None]]:
    """``simulate(world, seed, scale)`` of every registered vendor's demo module that has one."""
    from smarketing.vendors import VENDORS

    hooks = (getattr(v.demo_module(), "simulate", None) for v in VENDORS)
    return [hook for hook in hooks if hook is not None]


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
    outcome = rng.choice(CALL_OUTCOMES)
    sql = c.planned_sql_at
    if not (sql is not None or worked_roll < P_WORKED):
        return []
    first = c.mql_at + delay
    if sql is not None and first >= sql:
        first = c.mql_at + timedelta(seconds=(sql - c.mql_at).total_seconds() // 2)
    touches = [
        SalesTouch(
            f"{c.contact_id}1", "call", c.contact_id, c.owner_id, first, duration_ms, outcome
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
    seq = lead_seq_of(c.contact_id)
    domain = c.company.lower()
    colleague = Contact(
        contact_id=str(COLLEAGUE_ID_BASE + seq),
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
    contact_id = lead_contact_id(seq)
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
    """Ad platform days: clicks equal the paid sessions that landed that day per campaign."""
    for campaign_id, name in GOOGLE_CAMPAIGNS:
        n = clicks.get(name, 0)
        cpc_cents = rng.randint(120, 350)
        impressions = n * rng.randint(15, 40) + rng.randint(0, 50)
        world.ad_days.append(
            AdDay(
                "google_ads",
                campaign_id,
                name,
                day,
                impressions,
                n,
                n * cpc_cents,
                AD_ACCOUNT_CURRENCY["google_ads"],
                "paid_search",
            )
        )
    for campaign_id, name in META_CAMPAIGNS:
        n = clicks.get(name, 0)
        spend_cents = n * rng.randint(60, 180) + rng.randint(0, 500)
        impressions = n * rng.randint(40, 90) + rng.randint(0, 200)
        world.ad_days.append(
            AdDay(
                "meta_ads",
                campaign_id,
                name,
                day,
                impressions,
                n,
                spend_cents,
                AD_ACCOUNT_CURRENCY["meta_ads"],
                "paid_social",
            )
        )


def _newsletter(world: World, rng: random.Random, day: date, horizon: datetime) -> None:
    """A weekly campaign to every contact known before send time; clicks become web sessions."""
    send = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15)
    campaign_id = f"nl{day.strftime('%Y%m%d')}"
    name = f"newsletter_{day.isoformat()}"
    world.newsletters.append(Newsletter(campaign_id, name, f"Acme Analytics weekly, {day}", send))
    for contact in world.contacts:
        if contact.lead_at >= send:
            continue
        member = contact.email.strip().lower()
        opened, clicked = rng.random() < 0.35, rng.random() < 0.2
        ts = send + timedelta(minutes=rng.randint(5, 2_000))
        cts = ts + timedelta(seconds=rng.randint(5, 120))
        pages = rng.randint(1, 3)
        if opened and ts < horizon:
            world.email_actions.append(EmailAction(campaign_id, member, "open", ts))
            if clicked and cts < horizon:
                url = f"{SITE}/blog?utm_source=mailchimp&utm_medium=email&utm_campaign={name}"
                world.email_actions.append(EmailAction(campaign_id, member, "click", cts, url))
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
