"""A hand-built company run through the real steps (landing -> raw -> dbt build), whose
published numbers are worked out by hand.

The company, January 2026 (UTC):

* Ann (contact 101, Initech, owner 501) first visited on 2025-10-01 from a referral, came back
  from a Google ad on 2026-01-02 (auto-tagged: a click id, no UTM; Google's click report
  names the campaign) and filled in the form; MQL 01-03 10:00, SQL 01-05, a call
  2 h after her MQL. Her e-mail is stored padded and in capitals; she clicked the
  newsletter on 01-06 16:00 (joined by normalised e-mail).
* Ben (102, Initech, 501) came from organic search on 01-04 and filled in the form; MQL 01-06
  12:00, a meeting 30 h later. Ben and Ann are the buying group of deal 901 (1,000.00 USD,
  opened 01-10, won 01-20); HubSpot lists Ben first, but Ann became a lead first, so the deal
  and its revenue are hers (counted once).
* Cat (103, Globex, 502), offline: MQL 01-05 09:00, a call 30 min *before* (not a response),
  a sales e-mail exactly 24 h after; SQL 01-07, deal 903 (300.00 USD) lost 01-12, then sent
  back to `lead` (a recycled lead).
* Dan (104, no company, 502), offline: MQL 01-06 10:00, never worked.
* Eve (105, Umbrella, 501), offline: MQL 01-08 00:00, a call 6 h later; deal 902 of
  500.00 EUR opened 01-09 12:00, won 01-25 12:00: bookings at the close day's rate (a
  Sunday: Friday 01-23's 1.1742 USD per euro, 587.10 USD), pipeline at the creation day's
  (1.1642, 582.10 USD), so January's pipeline did not move when the deal closed.
* An anonymous visitor from a Meta ad (01-03) never converts; an unknown subscriber clicks
  the newsletter.

What sales decided (hs_lead_status and the disqualification-reason property, see
DISPOSITIONS): Ann OPEN_DEAL; Ben UNQUALIFIED as "not_decision_maker" (Ann is the buyer);
Cat, after her lost deal, was rejected as "bad_fit", became an MQL again on 01-20 09:00
(HubSpot's date entered MQL) and is OPEN, untouched since; Dan ATTEMPTED_TO_CONTACT with no
call logged; Eve OPEN_DEAL, keeping the "bad_timing" reason of an earlier rejection. The
CRM's clock (the latest change it sent) is deal 902's close, 01-25 12:00.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from smarketing.config import Settings, load_settings
from smarketing.fx import read_ecb
from smarketing.intervals import resolve_window
from smarketing.landing import land_source
from smarketing.sources.catalog import SOURCES, EntitySpec
from smarketing.transform import run_dbt
from smarketing.warehouse.load import load_interval
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.slow

SITE = "https://www.acme-analytics.example"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def session(
    pseudo: str,
    start: str,
    source: str | None,
    medium: str | None,
    campaign: str | None = None,
    gclid: str | None = None,
    form: bool = False,
) -> list[dict]:
    """GA4 export rows of one session: session_start, a page view, maybe a form fill."""
    begin = ts(start)
    names = ["session_start", "page_view"] + (["generate_lead"] if form else [])
    traffic = {"gclid": gclid} if gclid else None
    if source:
        traffic = {
            "manual_source": source,
            "manual_medium": medium,
            "manual_campaign_name": campaign,
            "gclid": gclid,
        }
    return [
        {
            "event_date": (begin + timedelta(minutes=i)).strftime("%Y%m%d"),
            "event_timestamp": int((begin + timedelta(minutes=i)).timestamp() * 1_000_000),
            "event_name": name,
            "user_pseudo_id": pseudo,
            "event_params": [
                {"key": "ga_session_id", "value": {"int_value": int(begin.timestamp())}},
                {"key": "page_location", "value": {"string_value": f"{SITE}/p{i}"}},
            ],
            "collected_traffic_source": traffic,
        }
        for i, name in enumerate(names)
    ]


def contact(
    cid: str,
    email: str,
    created: str,
    owner: str,
    stage: str,
    company: str | None = None,
    ga: str | None = None,
    **dates: str,
) -> dict:
    props = {
        "email": email,
        "firstname": "X",
        "lastname": "Y",
        "hubspot_owner_id": owner,
        "ga_client_id": ga,
        "associatedcompanyid": company,
        "lifecyclestage": stage,
        "createdate": iso(ts(created)),
        "lastmodifieddate": iso(ts(created)),
    }
    for name, value in dates.items():
        props[f"hs_lifecyclestage_{name}_date"] = iso(ts(value))
    return {
        "id": cid,
        "properties": props,
        "createdAt": iso(ts(created)),
        "updatedAt": iso(ts(created)),
        "archived": False,
    }


def deal(
    did: str,
    contacts: list[str],
    amount: str,
    currency: str,
    created: str,
    stage: str,
    closed: str | None = None,
) -> dict:
    modified = iso(ts(closed or created))
    return {
        "id": did,
        "properties": {
            "dealname": did,
            "amount": amount,
            "deal_currency_code": currency,
            "dealstage": stage,
            "pipeline": "default",
            "hubspot_owner_id": "501",
            "createdate": iso(ts(created)),
            "closedate": iso(ts(closed)) if closed else None,
            "hs_lastmodifieddate": modified,
        },
        "associations": {
            "contacts": {"results": [{"id": c, "type": "deal_to_contact"} for c in contacts]}
        },
        "createdAt": iso(ts(created)),
        "updatedAt": modified,
        "archived": False,
    }


def company(cid: str, name: str) -> dict:
    created = iso(ts("2025-06-01 00:00"))
    return {
        "id": cid,
        "properties": {
            "name": name,
            "domain": f"{name.lower()}.example",
            "industry": "SOFTWARE",
            "createdate": created,
            "hs_lastmodifieddate": created,
        },
        "createdAt": created,
        "updatedAt": created,
        "archived": False,
    }


def engagement(eid: str, contact_id: str, owner: str, at: str) -> dict:
    moment = iso(ts(at))
    return {
        "id": eid,
        "properties": {
            "hs_timestamp": moment,
            "hubspot_owner_id": owner,
            "hs_createdate": moment,
            "hs_lastmodifieddate": moment,
        },
        "associations": {
            "contacts": {"results": [{"id": contact_id, "type": "engagement_to_contact"}]}
        },
        "createdAt": moment,
        "updatedAt": moment,
        "archived": False,
    }


def click(email: str, at: str) -> dict:
    return {
        "campaign_id": "nl1",
        "list_id": "l1",
        "email_id": hashlib.md5(email.encode()).hexdigest(),
        "email_address": email,
        "action": "click",
        "timestamp": iso(ts(at)),
        "url": f"{SITE}/blog",
    }


COMPANY: dict[tuple[str, str], list[dict]] = {
    ("ga4", "events"): [
        *session("u1", "2025-10-01 10:00", "partner-blog.com", "referral"),
        # auto-tagged: the ad click brings only a gclid, no UTM values
        *session("u1", "2026-01-02 10:00", None, None, gclid="Cj0Kabc", form=True),
        *session("u2", "2026-01-03 09:00", "facebook", "paid_social", "prospecting"),
        *session("u3", "2026-01-04 09:00", "google", "organic", form=True),
    ],
    ("hubspot", "contacts"): [
        contact(
            "101",
            "  Ann.A@INITECH.example ",
            "2026-01-02 10:02",
            "501",
            "customer",
            "301",
            "u1",
            lead="2026-01-02 10:02",
            marketingqualifiedlead="2026-01-03 10:00",
            salesqualifiedlead="2026-01-05 10:00",
            opportunity="2026-01-10 00:00",
            customer="2026-01-20 00:00",
        ),
        contact(
            "102",
            "ben@initech.example",
            "2026-01-04 09:02",
            "501",
            "marketingqualifiedlead",
            "301",
            "u3",
            lead="2026-01-04 09:02",
            marketingqualifiedlead="2026-01-06 12:00",
        ),
        contact(
            "103",
            "cat@globex.example",
            "2026-01-05 08:00",
            "502",
            "lead",
            "302",
            lead="2026-01-05 08:00",
            marketingqualifiedlead="2026-01-05 09:00",
            salesqualifiedlead="2026-01-07 00:00",
        ),
        contact(
            "104",
            "dan@nowhere.example",
            "2026-01-06 08:00",
            "502",
            "marketingqualifiedlead",
            lead="2026-01-06 08:00",
            marketingqualifiedlead="2026-01-06 10:00",
        ),
        contact(
            "105",
            "eve@umbrella.example",
            "2026-01-07 08:00",
            "501",
            "customer",
            "303",
            lead="2026-01-07 08:00",
            marketingqualifiedlead="2026-01-08 00:00",
            salesqualifiedlead="2026-01-09 00:00",
        ),
    ],
    ("hubspot", "deals"): [
        deal(
            "901",
            ["102", "101"],
            "1000.00",
            "USD",
            "2026-01-10 00:00",
            "closedwon",
            "2026-01-20 00:00",
        ),
        deal("902", ["105"], "500.00", "EUR", "2026-01-09 12:00", "closedwon", "2026-01-25 12:00"),
        deal("903", ["103"], "300.00", "USD", "2026-01-08 00:00", "closedlost", "2026-01-12 00:00"),
    ],
    ("hubspot", "companies"): [
        company("301", "Initech"),
        company("302", "Globex"),
        company("303", "Umbrella"),
    ],
    ("hubspot", "calls"): [
        engagement("c1", "101", "501", "2026-01-03 12:00"),
        engagement("c2", "103", "502", "2026-01-05 08:30"),
        engagement("c3", "105", "501", "2026-01-08 06:00"),
    ],
    ("hubspot", "emails"): [engagement("e1", "103", "502", "2026-01-06 09:00")],
    ("hubspot", "meetings"): [engagement("m1", "102", "501", "2026-01-07 18:00")],
    ("mailchimp", "campaigns"): [
        {
            "id": "nl1",
            "type": "regular",
            "status": "sent",
            "create_time": "2026-01-05T15:00:00.000Z",
            "send_time": "2026-01-06T15:00:00.000Z",
            "settings": {"title": "Newsletter Jan", "subject_line": "Hi"},
            "recipients": {"list_id": "l1"},
        }
    ],
    ("mailchimp", "email_activity"): [
        click("ann.a@initech.example", "2026-01-06 16:00"),
        click("stranger@unknown.example", "2026-01-06 17:00"),
    ],
    ("google_ads", "campaign_stats"): [
        {
            "customer": {"id": "1", "currencyCode": "USD"},
            "campaign": {"id": "1001", "name": "Brand_Search"},
            "adGroup": {"id": "100101"},
            "segments": {"date": "2026-01-02"},
            "metrics": {"impressions": "10", "clicks": "1", "costMicros": "12340000"},
        }
    ],
    ("google_ads", "clicks"): [
        {
            "clickView": {"gclid": "Cj0Kabc", "adGroupAd": "customers/1/adGroupAds/100101~7"},
            "campaign": {"id": "1001", "name": "Brand_Search"},
            "adGroup": {"id": "100101"},
            "segments": {"date": "2026-01-02"},
        }
    ],
    ("meta_ads", "insights"): [
        {
            "account_id": "9",
            "account_currency": "EUR",
            "campaign_id": "2001",
            "campaign_name": "prospecting",
            "date_start": "2026-01-03",
            "date_stop": "2026-01-03",
            "impressions": "40",
            "clicks": "1",
            "spend": "7.50",
        }
    ],
}


# sales' decisions on each contact (properties added to the contacts above)
DISPOSITIONS: dict[str, dict[str, str]] = {
    "101": {"hs_lead_status": "OPEN_DEAL"},
    "102": {"hs_lead_status": "UNQUALIFIED", "disqualification_reason": "not_decision_maker"},
    "103": {
        "hs_lead_status": "OPEN",
        "disqualification_reason": "bad_fit",
        "hs_v2_date_entered_marketingqualifiedlead": iso(ts("2026-01-20 09:00")),
    },
    "104": {"hs_lead_status": "ATTEMPTED_TO_CONTACT"},
    "105": {"hs_lead_status": "OPEN_DEAL", "disqualification_reason": "bad_timing"},
}
for _record in COMPANY[("hubspot", "contacts")]:
    _record["properties"].update(DISPOSITIONS[_record["id"]])


class HandBuiltReader:
    """Serves the hand-built records as a vendor connector would (one list per entity)."""

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        yield from json.loads(json.dumps(COMPANY.get((spec.source, spec.entity), [])))


def rate(day: str, currency: str) -> Decimal:
    """Units per euro as the ECB published them, the last publication for a weekend."""
    if currency == "EUR":
        return Decimal(1)
    published = read_ecb()[currency]
    moment = date.fromisoformat(day)
    while moment not in published:  # weekend or holiday: the day before
        moment -= timedelta(days=1)
    return published[moment]


def convert(amount: str, currency: str, day: str, reporting: str) -> Decimal:
    """As the warehouse converts: through the euro, the factor to 10 places (from a double
    division), then the cent, half away from 0."""
    factor = Decimal(repr(float(rate(day, reporting)) / float(rate(day, currency))))
    factor = factor.quantize(Decimal("0.0000000001"), ROUND_HALF_UP)
    return (Decimal(amount) * factor).quantize(Decimal("0.01"), ROUND_HALF_UP)


# the pseudonym key of this company's runs (an Airflow Connection given as environment)
PSEUDONYM_KEY = "edge-cases-pseudonym-key-0123456789abcdef"


def person_key(identity: str) -> str:
    """The published key: HMAC-SHA-256 of the normalised identity under the run's key."""
    return hmac.new(PSEUDONYM_KEY.encode(), identity.encode(), hashlib.sha256).hexdigest()


def settings_in(base: Path) -> Settings:
    """Default settings (reporting currency USD) writing under ``base``."""
    os.environ["AIRFLOW_CONN_SMARKETING_PSEUDONYM"] = json.dumps({"password": PSEUDONYM_KEY})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMARKETING_PROJECT_DIR", str(PROJECT_DIR))
        mp.setenv("SMARKETING_DATA_DIR", str(base / "data"))
        mp.setenv("SMARKETING_REPORTING_CURRENCY", "USD")
        settings = load_settings()
    settings.ensure_dirs()
    return settings


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """Land and load the hand-built company, then dbt build (reporting currency USD)."""
    settings = settings_in(tmp_path_factory.mktemp("handbuilt"))
    window = resolve_window("2026-01-31", "2026-02-01", 0, "2025-09-01")
    for source in SOURCES:
        land_source(HandBuiltReader(), source, window, settings.landing_dir)
    load_interval(settings.warehouse_path, settings.landing_dir, window)
    run_dbt(settings, "build")
    yield settings, settings.warehouse_path


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_leads_identity_and_stage_dates(warehouse: tuple[Settings, Path]) -> None:
    _, db = warehouse
    rows = query(
        db,
        "select lead_id, person_key, account_id, first_touch_channel, first_touch_campaign,"
        " strftime(visitor_at, '%Y-%m-%d %H:%M'), strftime(mql_at, '%m-%d %H:%M'),"
        " strftime(sql_at, '%m-%d'), strftime(opportunity_at, '%m-%d %H:%M'),"
        " strftime(won_at, '%m-%d'), strftime(lost_at, '%m-%d'), current_stage, is_recycled,"
        " deal_id from audit.fct_lead_funnel order by lead_id",
    )
    ann_key = person_key("ann.a@initech.example")
    assert rows == [
        # first touch is the visitor's first session (a referral), not the later ad click
        (
            "101",
            ann_key,
            "301",
            "referral",
            None,
            "2025-10-01 10:00",
            "01-03 10:00",
            "01-05",
            "01-10 00:00",
            "01-20",
            None,
            "customer",
            False,
            "901",
        ),
        # Ben is in deal 901's buying group but not its primary: no deal of his own
        (
            "102",
            person_key("ben@initech.example"),
            "301",
            "organic_search",
            None,
            "2026-01-04 09:00",
            "01-06 12:00",
            None,
            None,
            None,
            None,
            "marketingqualifiedlead",
            False,
            None,
        ),
        # recycled: back to `lead` after SQL and a lost deal; the stages reached are kept
        (
            "103",
            person_key("cat@globex.example"),
            "302",
            "offline",
            None,
            None,
            "01-05 09:00",
            "01-07",
            "01-08 00:00",
            None,
            "01-12",
            "lead",
            True,
            "903",
        ),
        # a lead with no web visit and no company: offline, kept
        (
            "104",
            person_key("dan@nowhere.example"),
            None,
            "offline",
            None,
            None,
            "01-06 10:00",
            None,
            None,
            None,
            None,
            "marketingqualifiedlead",
            False,
            None,
        ),
        (
            "105",
            person_key("eve@umbrella.example"),
            "303",
            "offline",
            None,
            None,
            "01-08 00:00",
            "01-09",
            "01-09 12:00",
            "01-25",
            None,
            "customer",
            False,
            "902",
        ),
    ]
    # every stage reached has its HubSpot date, or (Cat, Eve) the deal's creation dates the
    # opportunity: no stage was skipped
    skipped = query(
        db,
        "select lead_id from audit.fct_lead_funnel"
        " where is_mql_skipped or is_sql_skipped or is_opportunity_skipped",
    )
    assert skipped == []


def test_visitor_who_never_converts_stays_in_the_funnel(warehouse: tuple[Settings, Path]) -> None:
    _, db = warehouse
    anonymous = query(
        db,
        "select person_key, stage, channel, campaign, lead_id from audit.fct_funnel_events"
        " where is_anonymous",
    )
    assert anonymous == [
        ("visitor:" + person_key("u2"), "visitor", "paid_social", "prospecting", None)
    ]
    stages = query(
        db,
        "select stage, count(*) from audit.fct_funnel_events"
        " group by 1 order by min(stage_number), 1",
    )
    # visitors: Ann, Ben, the anonymous one; won/lost: 901+902 won, 903 lost
    # SAL (Ann, Cat, Eve) between MQL and SQL
    assert stages == [
        ("visitor", 3),
        ("lead", 5),
        ("mql", 5),
        ("sal", 3),
        ("sql", 3),
        ("opportunity", 3),
        ("lost", 1),
        ("won", 2),
    ]
    cohorts = query(
        db,
        "select strftime(cohort_month, '%Y-%m'), channel, visitors, leads, mqls, sals, sqls,"
        " opportunities, won_deals, lost_deals from audit.mart_funnel_conversion order by 1, 2",
    )
    assert cohorts == [
        ("2025-10", "referral", 1, 1, 1, 1, 1, 1, 1, 0),
        ("2026-01", "offline", 0, 3, 3, 2, 2, 2, 1, 1),
        ("2026-01", "organic_search", 1, 1, 1, 0, 0, 0, 0, 0),
        ("2026-01", "paid_social", 1, 0, 0, 0, 0, 0, 0, 0),
    ]


def test_sal_stage_of_the_funnel(warehouse: tuple[Settings, Path]) -> None:
    """The SAL stage between MQL and SQL: the lead disposition's SAL date, the first
    acceptance of a recycled lead kept, its conversions and medians by hand."""
    _, db = warehouse
    leads = query(
        db,
        "select lead_id, strftime(sal_at, '%m-%d %H:%M'), is_sal_skipped, days_mql_to_sal,"
        " days_sal_to_sql from audit.fct_lead_funnel order by lead_id",
    )
    d = Decimal
    assert leads == [
        # her call 2 h after the MQL of 01-03 10:00; SQL 01-05 10:00, 1 d 22 h later
        ("101", "01-03 12:00", False, d("0.08"), d("1.92")),
        # rejected, never accepted
        ("102", None, False, None, None),
        # recycled: the current episode (MQL again 01-20) is never worked, but she reached
        # SQL (01-07 00:00) in her first one, accepted at the e-mail 24 h after her MQL of
        # 01-05 09:00 (the call 30 min before the MQL does not count): 1 d, then 15 h
        ("103", "01-06 09:00", False, d("1.00"), d("0.63")),
        # worked, undecided: no SAL
        ("104", None, False, None, None),
        # the call 6 h after her MQL of 01-08 00:00; SQL 01-09 00:00, 18 h later
        ("105", "01-08 06:00", False, d("0.25"), d("0.75")),
    ]
    cohorts = query(
        db,
        "select strftime(cohort_month, '%Y-%m'), channel, mqls, sals, sqls, mql_to_sal_rate,"
        " sal_to_sql_rate, mql_to_sql_rate, median_days_mql_to_sal, median_days_sal_to_sql"
        " from audit.mart_funnel_conversion order by 1, 2",
    )
    assert cohorts == [
        ("2025-10", "referral", 1, 1, 1, 1.0, 1.0, 1.0, d("0.08"), d("1.92")),
        # Cat and Eve of the three MQLs (Dan undecided); both went on to SQL; MQL -> SAL
        # days 1.00 and 0.25 (median 0.625 -> 0.63), SAL -> SQL 0.625 and 0.75 (0.6875)
        ("2026-01", "offline", 3, 2, 2, 2 / 3, 1.0, 2 / 3, d("0.63"), d("0.69")),
        # Ben, rejected: no SAL, nothing to convert from
        ("2026-01", "organic_search", 1, 0, 0, 0.0, None, 0.0, None, None),
        ("2026-01", "paid_social", 0, 0, 0, None, None, None, None, None),
    ]
    # the disposition mart accepts Ann and Eve (current episodes); the funnel's third SAL is
    # Cat's acceptance in an earlier episode
    accepted = query(db, "select sum(accepted) from audit.mart_lead_disposition")
    assert accepted == [(2,)]


def test_deal_with_two_contacts_counts_once_for_its_first_lead(
    warehouse: tuple[Settings, Path],
) -> None:
    _, db = warehouse
    deals = query(
        db,
        "select deal_id, lead_id, account_id, buying_group_contacts, deal_status,"
        " amount_reporting, pipeline_amount_reporting, source_channel"
        " from audit.fct_deals order by deal_id",
    )
    # deal 902 (500.00 EUR): bookings at 01-25's rate (Friday's 1.1742), pipeline at 01-09's
    # (1.1642); the dollar deals are the same at any rate
    eur, eur_pipeline = Decimal("587.10"), Decimal("582.10")
    assert (eur, eur_pipeline) == (
        convert("500.00", "EUR", "2026-01-25", "USD"),
        convert("500.00", "EUR", "2026-01-09", "USD"),
    )
    assert deals == [
        ("901", "101", "301", 2, "won", Decimal("1000.00"), Decimal("1000.00"), "referral"),
        ("902", "105", "303", 1, "won", eur, eur_pipeline, "offline"),
        ("903", "103", "302", 1, "lost", Decimal("300.00"), Decimal("300.00"), "offline"),
    ]
    won = Decimal("1000.00") + eur
    assert query(db, "select sum(won_revenue) from audit.mart_channel_daily") == [(won,)]
    accounts = query(
        db,
        "select account_id, account_name, contacts, deals, won_deals, lost_deals, won_revenue,"
        " marketing_touches, sales_touches from audit.mart_account_journey order by 1",
    )
    assert accounts == [
        # (no company): Dan; no touches, no deal
        ("(no company)", "(no company)", 1, 0, 0, 0, Decimal("0.00"), 0, 0),
        # Initech: Ann (2 sessions + 1 e-mail click) and Ben (1 session); call + meeting
        ("301", "Initech", 2, 1, 1, 0, Decimal("1000.00"), 4, 2),
        ("302", "Globex", 1, 1, 0, 1, Decimal("0.00"), 0, 2),
        ("303", "Umbrella", 1, 1, 1, 0, eur, 0, 1),
    ]
    # the sales grain (accounts, months) reconciles with the marketing grain
    assert sum(a[6] for a in accounts) == won
    assert query(
        db,
        "select sum(bookings), sum(won_deals), sum(lost_deals),"
        " sum(opportunities_created), sum(pipeline_created)"
        " from audit.mart_revenue_summary",
    ) == [(won, 2, 1, 3, Decimal("1000.00") + eur_pipeline + Decimal("300.00"))]
    # the same pipeline, by lead source, in the performance mart: offline has 902 and 903
    assert query(
        db,
        "select channel, sum(pipeline_amount) from audit.mart_channel_performance"
        " group by 1 having sum(pipeline_amount) <> 0 order by 1",
    ) == [("offline", Decimal("882.10")), ("referral", Decimal("1000.00"))]


def test_attribution_uses_the_buying_group_within_the_lookback(
    warehouse: tuple[Settings, Path],
) -> None:
    _, db = warehouse
    rows = query(
        db,
        "select attribution_model, channel, touch_type, attributed_amount from"
        " audit.fct_attribution where deal_id = '901' order by attribution_model, touched_at",
    )
    # Touches of Ann and Ben within 90 days before 01-10: Ann's ad click + form (01-02),
    # Ben's organic form fill (01-04), Ann's newsletter click (01-06). Ann's referral visit
    # of 2025-10-01 is 101 days before: outside. Sales touches never get credit.
    touches = [
        ("paid_search", "form_fill"),
        ("organic_search", "form_fill"),
        ("email", "email_click"),
    ]
    expected = {
        "first_touch": ["1000.00", "0.00", "0.00"],
        "last_touch": ["0.00", "0.00", "1000.00"],
        "linear": ["333.34", "333.33", "333.33"],  # the spare cent to the earliest touch
        "u_shaped": ["400.00", "200.00", "400.00"],
        # Ann's lead touch is also the first touch: 30+30, the last 30, the rest 10
        "w_shaped": ["600.00", "100.00", "300.00"],
        # 0.5 ** (age in days / 7) for ages 7.583, 5.625, 3.333 days; cents by largest
        # remainder: 26757.76 / 32483.77 / 40758.47 -> +1 to the two largest remainders
        "time_decay": ["267.58", "324.84", "407.58"],
    }
    assert rows == [
        (model, channel, kind, Decimal(amount))
        for model, amounts in sorted(expected.items())
        for (channel, kind), amount in zip(touches, amounts, strict=True)
    ]
    # a dollar deal's pipeline credits are its revenue credits
    assert query(
        db,
        "select count(*) from audit.fct_attribution"
        " where deal_id = '901' and attributed_pipeline_amount <> attributed_amount",
    ) == [(0,)]
    # Eve's EUR deal has no marketing touch: unattributed, whole, under every model; its
    # revenue at the close day's rate (587.10), its pipeline at the creation day's (582.10)
    eur = Decimal("587.10")
    assert query(
        db,
        "select distinct channel, attributed_amount, attributed_pipeline_amount"
        " from audit.fct_attribution where deal_id = '902'",
    ) == [("unattributed", eur, Decimal("582.10"))]
    perf = query(
        db,
        "select sum(revenue_first_touch), sum(revenue_linear), sum(revenue_time_decay),"
        " sum(won_revenue) from audit.mart_channel_performance",
    )
    assert perf == [(Decimal("1000.00") + eur,) * 4]


def test_sla_by_owner_and_lead_source(warehouse: tuple[Settings, Path]) -> None:
    """The follow-up SLA of the lead disposition: the clock starts at the current MQL
    episode, and on the CRM's clock (01-25 12:00) every window has elapsed. Cat qualified
    again on 01-20 09:00: her e-mail 24 h after her first MQL no longer answers it, and
    nobody has touched her since: never worked. Dan (status ATTEMPTED_TO_CONTACT, no call
    logged) is worked, but not within the SLA (no touch)."""
    _, db = warehouse
    rows = query(
        db,
        "select dimension, dimension_value, mqls, mqls_worked, mqls_pending, mqls_sla_elapsed,"
        " mqls_worked_within_sla, mqls_never_worked, median_hours_to_first_touch,"
        " p90_hours_to_first_touch, opportunities, won_deals, lost_deals,"
        " share_worked_within_sla, mql_to_opportunity_rate, win_rate"
        " from audit.mart_sales_marketing_sla order by 1, 2",
    )
    d = Decimal
    assert rows == [
        # Cat never worked since 01-20, Dan worked without a touch, Eve's call after 6 h
        (
            "lead_source",
            "offline",
            3,
            2,
            0,
            3,
            1,
            1,
            d("6.00"),
            d("6.00"),
            2,
            1,
            1,
            1 / 3,
            2 / 3,
            0.5,
        ),
        # Ben: his meeting 30 h after the MQL, outside the SLA
        (
            "lead_source",
            "organic_search",
            1,
            1,
            0,
            1,
            0,
            0,
            d("30.00"),
            d("30.00"),
            0,
            0,
            0,
            0.0,
            0.0,
            None,
        ),
        ("lead_source", "referral", 1, 1, 0, 1, 1, 0, d("2.00"), d("2.00"), 1, 1, 0, 1.0, 1.0, 1.0),
        # owner 501: Ann 2 h, Ben 30 h, Eve 6 h -> median 6, p90 = 6 + 0.8 * (30 - 6)
        ("owner", "501", 3, 3, 0, 3, 2, 0, d("6.00"), d("25.20"), 2, 2, 0, 2 / 3, 2 / 3, 1.0),
        # owner 502: Cat never worked (restarted clock), Dan worked but never touched
        ("owner", "502", 2, 1, 0, 2, 0, 1, None, None, 1, 0, 1, 0.0, 0.5, 0.0),
        # all: 2, 6, 30 h -> median 6, p90 25.2; within the SLA 2 of 5 elapsed windows
        ("total", "all", 5, 4, 0, 5, 2, 1, d("6.00"), d("25.20"), 3, 2, 1, 0.4, 0.6, 2 / 3),
    ]


def test_unit_economics_per_month_and_channel(warehouse: tuple[Settings, Path]) -> None:
    """January's unit economics, worked out from the company above: ratios from the month's
    sums; credit under a model counts the deal's share (fractional deals). In USD: runs
    before test_money_in_another_currency rebuilds the warehouse in euros."""
    _, db = warehouse
    d = Decimal
    rows = query(
        db,
        "select grain, campaign_key, spend, leads, mqls, opportunities, pipeline_lead_source,"
        " won_deals, won_revenue, cost_per_lead, cost_per_mql, cac_lead_source,"
        " roas_lead_source, payback_months from audit.mart_unit_economics"
        " where month = '2026-01-01' and channel in ('paid_search', 'referral')"
        " order by 1, 2",
    )
    assert rows == [
        # paid search: 12.34 of spend, no lead of its own (Ann's first touch is a referral)
        (
            "campaign",
            "paid_search:brand_search",
            d("12.34"),
            0,
            0,
            0,
            d("0.00"),
            0,
            d("0.00"),
            None,
            None,
            None,
            d("0.0000"),
            None,
        ),
        (
            "campaign",
            "referral:(none)",
            d("0.00"),
            1,
            1,
            1,
            d("1000.00"),
            1,
            d("1000.00"),
            d("0.00"),
            d("0.00"),
            d("0.00"),
            None,
            d("0.00"),
        ),
        (
            "channel",
            "paid_search:(all)",
            d("12.34"),
            0,
            0,
            0,
            d("0.00"),
            0,
            d("0.00"),
            None,
            None,
            None,
            d("0.0000"),
            None,
        ),
        (
            "channel",
            "referral:(all)",
            d("0.00"),
            1,
            1,
            1,
            d("1000.00"),
            1,
            d("1000.00"),
            d("0.00"),
            d("0.00"),
            d("0.00"),
            None,
            d("0.00"),
        ),
    ]
    models = query(
        db,
        "select revenue_first_touch, won_deals_first_touch, cac_first_touch, roas_first_touch,"
        " revenue_linear, won_deals_linear, pipeline_linear, cac_linear, roas_linear,"
        " revenue_u_shaped, won_deals_u_shaped, cac_u_shaped, roas_u_shaped"
        " from audit.mart_unit_economics where grain = 'channel' and channel = 'paid_search'",
    )
    # deal 901 (1,000.00): first touch all to the ad click; linear a third (333.34, the
    # spare cent to the earliest touch), U-shaped 40 %. CAC = 12.34 / credited deals;
    # ROAS = credited revenue / 12.34.
    assert models == [
        (
            d("1000.00"),
            d("1.0000"),
            d("12.34"),
            d("81.0373"),
            d("333.34"),
            d("0.3333"),
            d("333.34"),
            d("37.02"),
            d("27.0130"),
            d("400.00"),
            d("0.4000"),
            d("30.85"),
            d("32.4149"),
        ),
    ]
    # the paid social spend (7.50 EUR at 01-03's rate) and the unattributed euro deal
    meta = convert("7.50", "EUR", "2026-01-03", "USD")
    # deal 902: revenue at its close day's rate, pipeline at its creation day's
    eur, eur_pipeline = Decimal("587.10"), Decimal("582.10")
    social = query(
        db,
        "select spend, roas_lead_source, cac_lead_source from audit.mart_unit_economics"
        " where grain = 'channel' and channel = 'paid_social'",
    )
    assert social == [(meta, d("0.0000"), None)]
    unattributed = query(
        db,
        "select spend, revenue_linear, won_deals_linear, pipeline_linear, cac_linear,"
        " roas_linear from audit.mart_unit_economics where grain = 'campaign'"
        " and channel = 'unattributed'",
    )
    assert unattributed == [(d("0.00"), eur, d("1.0000"), eur_pipeline, d("0.00"), None)]
    # the month agrees with the other marts: spend, bookings, MQLs
    totals = query(
        db,
        "select sum(spend), sum(won_revenue), sum(mqls), sum(revenue_time_decay)"
        " from audit.mart_unit_economics where grain = 'channel'",
    )
    assert totals == [(d("12.34") + meta, d("1000.00") + eur, 5, d("1000.00") + eur)]


def test_targets_pacing_of_january(warehouse: tuple[Settings, Path]) -> None:
    """January paced against the shipped plan (seed plan_targets, the demo's Q1 plan), worked
    out by hand. Its January, summed over the six channels: bookings 40,000, pipeline
    1,920,000, 300 MQLs, an SLA share of 171/300 = 0.57 (each channel's share weighted by its
    MQLs: 40×0.5 + 25×0.5 + 80×0.6 + 75×0.6 + 55×0.6 + 25×0.5). The CRM's clock is 01-25
    12:00: 25 of January's 31 days are gone, 25 of Q1's 90. In USD: runs before
    test_money_in_another_currency rebuilds the warehouse in euros."""
    _, db = warehouse
    d = Decimal
    eur = d("587.10")  # deal 902 at its close date's rate (500 EUR × 1.1742)
    won = d("1000.00") + eur  # deals 901 (Ann) and 902 (Eve)
    rows = {
        r[0]: r[1:]
        for r in query(
            db,
            "select metric, target, actual, elapsed_days, period_days, prorated_goal, pacing,"
            " forecast, status, goal_basis from audit.mart_targets_pacing"
            " where period_type = 'month' and period_start = '2026-01-01' and channel = '(all)'",
        )
    }
    share = d(25) / d(31)
    bookings = rows["bookings"]
    assert bookings[:4] == (d("40000"), won, 25, 31)
    assert float(bookings[4]) == pytest.approx(40000 * 25 / 31, abs=1e-4)
    assert bookings[5] == pytest.approx(float(won / (d(40000) * share)))
    assert float(bookings[6]) == pytest.approx(float(won) * 31 / 25, abs=1e-4)
    assert bookings[7:] == ("off_track", "plan")
    # pipeline: deals 901 and 903 (1,000 + 300, dollars) and 902 (euros, at its creation
    # date's rate: 500 × 1.1642 = 582.10), not the 587.10 it booked at
    assert rows["pipeline"][:2] == (d("1920000"), d("1882.10"))
    # MQLs: Ann, Ben, Cat, Dan and Eve
    assert rows["mqls"][:2] == (d(300), 5)
    assert rows["mqls"][5] == pytest.approx(5 / (300 * 25 / 31))
    assert rows["mqls"][7] == "off_track"
    # the SLA share is a rate: 2 of the 5 elapsed windows worked within 24 h (Ann after 2 h,
    # Eve after 6 h; Ben after 30 h, Cat and Dan not since their episode began), against
    # 0.57 itself, not pro-rated: 0.70 is below the 0.8 of at risk
    sla = rows["sla_share"]
    assert (sla[0], sla[1], sla[4], sla[6]) == (d("0.5700"), d("0.4000"), d("0.5700"), d("0.4"))
    assert sla[5] == pytest.approx(0.4 / 0.57) and sla[7] == "off_track"
    # the reverse funnel at the trailing rates (all of the history is within 90 days):
    # average deal (1,000 + 902's dollars) / 2; win rate 2 of 3 closed (903 lost);
    # SQL → opportunity 3 of 3 (Ann, Cat, Eve); SAL → SQL 2 of 2; MQL → SAL 2 of 5
    funnel = query(
        db,
        "select metric, required, actual, conversion_to_next, average_deal_size, goal_basis,"
        " status from audit.mart_targets_pacing where period_type = 'month'"
        " and period_start = '2026-01-01' and channel = '(all)'"
        " and metric in ('won_deals', 'opportunities', 'sqls', 'sals', 'mqls')",
    )
    by_metric = {r[0]: r[1:] for r in funnel}
    deals_needed = 40000 / (float(won) / 2)
    needed = {
        "won_deals": deals_needed,
        "opportunities": deals_needed / (2 / 3),
        "sqls": deals_needed / (2 / 3) / 1,
        "sals": deals_needed / (2 / 3) / 1 / 1,
        "mqls": deals_needed / (2 / 3) / 1 / 1 / 0.4,
    }
    assert {m: float(r[0]) for m, r in by_metric.items()} == pytest.approx(needed, abs=1e-4)
    assert {m: r[1] for m, r in by_metric.items()} == {
        "won_deals": 2,
        "opportunities": 3,  # Ann, Cat and Eve reached the stage
        "sqls": 3,
        "sals": 2,  # Ann at her call 01-03 12:00, Eve at hers 01-08 06:00
        "mqls": 5,
    }
    assert {m: r[2] for m, r in by_metric.items()} == pytest.approx(
        {"won_deals": None, "opportunities": 2 / 3, "sqls": 1.0, "sals": 1.0, "mqls": 0.4}
    )
    assert {r[3] for r in by_metric.values()} == {(won / 2).quantize(d("0.01"))}
    # stages the plan sets no target for are paced against what the funnel needs
    assert by_metric["sqls"][4:] == ("reverse_funnel", "off_track")
    assert by_metric["mqls"][4] == "plan"
    # per lead source: referral booked Ann's 1,000 of its 5,000; paid social nothing
    channels = query(
        db,
        "select channel, actual, pacing, status from audit.mart_targets_pacing"
        " where period_type = 'month' and period_start = '2026-01-01' and metric = 'bookings'"
        " and channel in ('referral', 'offline', 'paid_social') order by 1",
    )
    assert [(c, a, s) for c, a, _, s in channels] == [
        ("offline", eur, "off_track"),
        ("paid_social", d(0), "off_track"),
        ("referral", d("1000.00"), "off_track"),
    ]
    assert channels[2][2] == pytest.approx(1000 / (5000 * 25 / 31))
    # the quarter: Q1's bookings target 2,510,000, 25 of 90 days; February and March wait
    quarter = query(
        db,
        "select target, actual, elapsed_days, period_days, pacing from audit.mart_targets_pacing"
        " where period_type = 'quarter' and channel = '(all)' and metric = 'bookings'",
    )
    assert quarter[0][:4] == (d("2510000"), won, 25, 90)
    assert quarter[0][4] == pytest.approx(float(won) / (2510000 * 25 / 90))
    later = query(
        db,
        "select distinct status from audit.mart_targets_pacing where period_type = 'month'"
        " and period_start > '2026-01-01' and goal is not null",
    )
    assert later == [("not_started",)]


def test_money_in_another_currency(warehouse: tuple[Settings, Path]) -> None:
    """Spend of the euro Meta account is converted at its day's rate; a second build in a
    euro reporting currency keeps euro deals exact and converts dollars."""
    settings, db = warehouse
    spend = query(
        db,
        "select strftime(date_day, '%m-%d'), channel, spend from audit.mart_channel_daily"
        " where spend > 0 order by 1",
    )
    assert spend == [
        ("01-02", "paid_search", Decimal("12.34")),
        ("01-03", "paid_social", convert("7.50", "EUR", "2026-01-03", "USD")),
    ]
    run_dbt(dataclasses.replace(settings, reporting_currency="EUR"), "build")
    deals = query(
        db,
        "select deal_id, deal_amount, deal_currency, amount_reporting, pipeline_amount_reporting"
        " from audit.fct_deals order by 1",
    )
    # now the dollar deals move: 901 booked at 01-20's 1.1728 USD per euro (852.66 EUR) but
    # piped at 01-10's (a Saturday: Friday's 1.1642, 858.96 EUR); 903 lost at 01-12's
    # 1.1692 (256.59), piped at 01-08's 1.1675 (256.96)
    assert deals == [
        ("901", Decimal("1000.00"), "USD", Decimal("852.66"), Decimal("858.96")),
        ("902", Decimal("500.00"), "EUR", Decimal("500.00"), Decimal("500.00")),
        ("903", Decimal("300.00"), "USD", Decimal("256.59"), Decimal("256.96")),
    ]
    assert [
        convert(a, "USD", day, "EUR")
        for a, day in (
            ("1000.00", "2026-01-20"),
            ("1000.00", "2026-01-10"),
            ("300.00", "2026-01-12"),
            ("300.00", "2026-01-08"),
        )
    ] == [Decimal("852.66"), Decimal("858.96"), Decimal("256.59"), Decimal("256.96")]
    assert query(db, "select sum(pipeline_created) from audit.mart_revenue_summary") == [
        (Decimal("858.96") + Decimal("500.00") + Decimal("256.96"),)
    ]
    won = convert("1000.00", "USD", "2026-01-20", "EUR") + Decimal("500.00")
    per_model = query(
        db,
        "select attribution_model, sum(attributed_amount)"
        " from audit.fct_attribution where deal_status = 'won' group by 1",
    )
    assert sorted(per_model) == [
        (m, won)
        for m in sorted(
            ["first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay"]
        )
    ]
    assert query(db, "select distinct currency_code from audit.fct_attribution") == [("EUR",)]


def test_no_personal_data_in_any_published_mart(warehouse: tuple[Settings, Path]) -> None:
    """Every text value of every audit mart: no e-mail address, no person's name."""
    _, db = warehouse
    columns = query(
        db,
        "select table_name, column_name from information_schema.columns"
        " where table_schema = 'audit' and data_type = 'VARCHAR'",
    )
    assert len({t for t, _ in columns}) >= 10  # every mart with text columns
    leaks = [
        (table, column)
        for table, column in columns
        if query(
            db,
            f'select count(*) from audit."{table}" where "{column}" like \'%@%\''
            f" or lower(\"{column}\") similar to '.*(ann|ben|cat|dan|eve)[.@].*'",
        )[0][0]
    ]
    assert leaks == []


def test_lead_disposition_per_mql(warehouse: tuple[Settings, Path]) -> None:
    """Each MQL's disposition, its SAL date and whether a rejection was overturned."""
    _, db = warehouse
    rows = query(
        db,
        "select lead_id, disposition, rejection_reason, strftime(mql_started_at, '%m-%d %H:%M'),"
        " is_remql, strftime(sal_at, '%m-%d %H:%M'), is_sal_skipped, hours_to_first_touch,"
        " is_within_sla_window, ever_rejected, rejected_then_converted,"
        " strftime(as_of, '%m-%d %H:%M') from audit.fct_lead_disposition order by lead_id",
    )
    d = Decimal
    assert rows == [
        # accepted: SAL at her first call (2 h), before the SQL on 01-05
        (
            "101",
            "accepted",
            None,
            "01-03 10:00",
            False,
            "01-03 12:00",
            False,
            d("2.00"),
            False,
            False,
            False,
            "01-25 12:00",
        ),
        # rejected with the account's reason; the meeting 30 h after the MQL was the work
        (
            "102",
            "rejected",
            "not_decision_maker",
            "01-06 12:00",
            False,
            None,
            False,
            d("30.00"),
            False,
            True,
            False,
            "01-25 12:00",
        ),
        # MQL again on 01-20: the SLA restarts, her e-mail of 01-06 no longer answers it and
        # by 01-25 (past 01-21 09:00) nobody has worked her: never worked; her old reason
        # marks her as rejected once
        (
            "103",
            "never_worked",
            None,
            "01-20 09:00",
            True,
            None,
            False,
            None,
            False,
            True,
            False,
            "01-25 12:00",
        ),
        # the status says sales tried, though no call is logged: worked, undecided
        (
            "104",
            "worked_undecided",
            None,
            "01-06 10:00",
            False,
            None,
            False,
            None,
            False,
            False,
            False,
            "01-25 12:00",
        ),
        # once put off as bad timing, then a deal on 01-09 12:00: a rejection overturned
        (
            "105",
            "accepted",
            None,
            "01-08 00:00",
            False,
            "01-08 06:00",
            False,
            d("6.00"),
            False,
            True,
            True,
            "01-25 12:00",
        ),
    ]


def test_lead_disposition_mart(warehouse: tuple[Settings, Path]) -> None:
    """Month × lead source × campaign × owner; the five dispositions add up to the MQLs and
    the MQLs to mart_channel_performance's for the month and campaign."""
    _, db = warehouse
    rows = query(
        db,
        "select strftime(mql_month, '%Y-%m'), campaign_key, owner_id, mqls, accepted, rejected,"
        " rejected_unqualified, rejected_bad_timing, worked_undecided, never_worked, pending,"
        " remqls, sal_skipped, acceptance_rate, mql_to_sal_rate, mqls_sla_elapsed,"
        " worked_within_sla, share_worked_within_sla, ever_rejected, rejected_then_converted,"
        " share_rejected_later_converted from audit.mart_lead_disposition order by 2, 3",
    )
    assert rows == [
        # Eve (owner 501): accepted, worked in 6 h, her earlier rejection overturned
        (
            "2026-01",
            "offline:(none)",
            "501",
            1,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            1.0,
            1.0,
            1,
            1,
            1.0,
            1,
            1,
            1.0,
        ),
        # Cat never worked since her second MQL, Dan worked but undecided: no decision yet
        (
            "2026-01",
            "offline:(none)",
            "502",
            2,
            0,
            0,
            0,
            0,
            1,
            1,
            0,
            1,
            0,
            None,
            0.0,
            2,
            0,
            0.0,
            1,
            0,
            0.0,
        ),
        # Ben rejected as UNQUALIFIED, first touched after 30 h (outside the 24 h SLA)
        (
            "2026-01",
            "organic_search:(none)",
            "501",
            1,
            0,
            1,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0.0,
            0.0,
            1,
            0,
            0.0,
            1,
            0,
            0.0,
        ),
        (
            "2026-01",
            "referral:(none)",
            "501",
            1,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            1.0,
            1.0,
            1,
            1,
            1.0,
            0,
            0,
            None,
        ),
    ]
    by_campaign = query(
        db,
        "select campaign_key, sum(mqls) from audit.mart_channel_performance where mqls > 0"
        " group by 1 order by 1",
    )
    assert by_campaign == [
        ("offline:(none)", 3),
        ("organic_search:(none)", 1),
        ("referral:(none)", 1),
    ]
