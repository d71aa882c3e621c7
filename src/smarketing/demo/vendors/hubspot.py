"""HubSpot CRM v3 of the demo company: its objects as files, and its search API.

Mirrors ``smarketing.sources.hubspot``. The files hold every version of every object (what
an incremental API sees over time): contacts, deals, companies, calls, e-mails, meetings.

HubSpot's wire variety, decided by record id (never by a random draw, so the world and its
ground truth stay as they are):

* timestamps come as ISO with milliseconds, ISO without them, epoch milliseconds, and a date
  property as a plain date;
* some contacts have no e-mail (a colleague known by phone only);
* an open deal may have no amount yet (sales fills it in when it closes);
* a deal in the account's company currency (USD) may have no deal_currency_code;
* deals come in three currencies (USD, EUR, GBP).

Endpoints: ``POST /crm/v3/objects/{contacts,companies,deals,calls,emails,meetings}/search``
(filter on last-modified, cursor paging ``paging.next.after``), ``POST
/crm/v4/associations/{deals,calls,emails,meetings}/contacts/batch/read`` (answered with each
object's current associations, as HubSpot does), the object list ``GET
/crm/v3/objects/{object}?limit=&after=&associations=contacts`` (every object in its current
state, by id, at most 100 a page; each object's contacts inline, 100 at most, the rest behind
the association's own ``paging.next.after``) and ``GET
/crm/v3/objects/{object}/{id}/associations/contacts?after=`` (the rest, 500 a page).

HubSpot's limits as HubSpot enforces them: a search pages through at most 10,000 results
(beyond: 400 with HubSpot's ``VALIDATION_ERROR`` body); a list page above 100 is a 400 too;
when ``search_per_second`` is set, more search requests than that in one second are answered
429 with HubSpot's ``RATE_LIMIT`` body (policy ``SECONDLY``); when ``requests_per_10s`` is set
(the account's burst limit: 100 per 10 s for Free and Starter, 190 for Professional and
Enterprise), every other request counts against it, is answered with HubSpot's
``X-HubSpot-RateLimit-Max`` / ``-Interval-Milliseconds`` / ``-Remaining`` headers, and beyond
the limit with 429 (policy ``TEN_SECONDLY_ROLLING``). An object search answers as if it ran
at the end of its time filter (the state the object had then); the list answers with the
latest version of every object.

Each file is indexed once per version: versions sorted by ``updatedAt``, so a search window
is a bisection and a page a slice.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smarketing.demo import disposition
from smarketing.demo.vendors.files import IndexCache, write_jsonl
from smarketing.demo.world import (
    COMPANIES,
    ENGAGEMENT_KINDS,
    INDUSTRIES,
    Contact,
    SalesTouch,
    World,
    company_id,
    has_email,
    iso,
    priced_while_open,
    seq,
)
from smarketing.sources.timestamps import parse_vendor_timestamp as parse_ts

FOLDER = "hubspot"
OBJECTS = ("contacts", "companies", "deals", "calls", "emails", "meetings")
TOKEN = "demo-hubspot-private-app-token"
SEARCH_CAP = 10_000
LIST_LIMIT = 100  # the list endpoint's largest page; above: 400
ASSOCIATIONS_INLINE = 100  # associations inline per object and type; the rest are paged
ASSOCIATIONS_PAGE = 500  # the v3 associations list endpoint's largest page
# HubSpot-defined association type ids of <object> → contact
CONTACT_ASSOCIATION_TYPES = {"deals": 3, "calls": 194, "emails": 198, "meetings": 200}
HUBSPOT_SOURCES = {  # channel -> hs_analytics_source (HubSpot's original source values)
    "paid_search": "PAID_SEARCH",
    "paid_social": "PAID_SOCIAL",
    "email": "EMAIL_MARKETING",
    "organic_search": "ORGANIC_SEARCH",
    "referral": "REFERRALS",
    "direct": "DIRECT_TRAFFIC",
    "offline": "OFFLINE",
}
# HubSpot's default call outcomes (hs_call_disposition is the outcome's GUID)
CALL_DISPOSITIONS = {
    "connected": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
    "left_voicemail": "b2cf5968-551e-4856-9783-52b3da59a7d0",
    "no_answer": "73a0d17f-1163-4015-bdd5-ec830791da20",
    "left_live_message": "a4c4c377-d246-4b32-a13b-75a56a4cd0ff",
}


def _hs_time(ts: datetime, key: int) -> str:
    """One timestamp in one of the forms HubSpot sends, chosen by a record's number."""
    form = key % 4
    if form == 1:
        return str(int(ts.timestamp() * 1000))  # epoch milliseconds
    if form == 2 and ts.microsecond == 0:
        return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # without milliseconds
    return iso(ts)


def _currency_on_the_wire(c: Contact) -> str | None:
    """Some deals in the company currency (USD) leave deal_currency_code empty."""
    return None if c.currency == "USD" and seq(c) % 4 == 1 else c.currency


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
        "email": c.email if has_email(c) else None,
        "firstname": c.firstname,
        "lastname": c.lastname,
        "company": c.company,
        "associatedcompanyid": c.company_id,
        "hubspot_owner_id": c.owner_id,
        "ga_client_id": c.ga_client_id,
        # HubSpot's original source: the channel of the first visit, else offline
        "hs_analytics_source": HUBSPOT_SOURCES[c.channel],
        "createdate": _hs_time(c.lead_at, seq(c)),
        "lifecyclestage": reached[-1][0],
    }
    for stage, ts in reached:
        props[f"hs_lifecyclestage_{stage}_date"] = _hs_time(ts, seq(c) + 1)
    decided = disposition.add_properties(c, as_of, props)  # hs_lead_status and reason
    modified = max(reached[-1][1], decided) if decided else reached[-1][1]
    props["lastmodifieddate"] = iso(modified)
    return {
        "id": c.contact_id,
        "properties": props,
        "createdAt": iso(c.lead_at),
        "updatedAt": iso(modified),
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
    priced = closedate is not None or priced_while_open(c)
    return {
        "id": c.deal_id,
        "properties": {
            "dealname": f"{c.company} - Acme Analytics",
            "amount": f"{c.amount_cents // 100}.{c.amount_cents % 100:02d}" if priced else None,
            "deal_currency_code": _currency_on_the_wire(c),
            "dealstage": stage,
            "pipeline": "default",
            "hubspot_owner_id": c.owner_id,
            "createdate": _hs_time(c.opportunity_at, seq(c) + 2),
            "closedate": _hs_time(closedate, seq(c) + 3) if closedate else None,
            "hs_lastmodifieddate": iso(modified),
        },
        "associations": _contact_associations("deal", contacts),
        "createdAt": iso(c.opportunity_at),
        "updatedAt": iso(modified),
        "archived": False,
    }


def _contact_associations(kind: str, contact_ids: list[str]) -> dict:
    """``associations`` as the connector attaches them from the v4 batch read."""
    return {"contacts": {"results": [{"id": i, "type": f"{kind}_to_contact"} for i in contact_ids]}}


def versions(c: Contact) -> tuple[list[dict], list[dict]]:
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


def companies(world: World) -> list[dict]:
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
        created = iso(first_lead[cid])
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
    ts = iso(t.at)
    props: dict[str, str | None] = {
        "hs_timestamp": ts,
        "hubspot_owner_id": t.owner_id,
        "hs_createdate": ts,
        "hs_lastmodifieddate": ts,
    }
    if t.kind == "call":
        props |= {
            "hs_call_direction": "OUTBOUND",
            "hs_call_disposition": CALL_DISPOSITIONS[t.outcome],
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
            "hs_meeting_end_time": iso(t.at + timedelta(minutes=30)),
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


def write(world: World, out_dir: Path) -> None:
    """``hubspot/<object>.jsonl``: every version of every object, in the world's order."""
    contact_versions, deal_versions = [], []
    for c in world.contacts:
        contact_states, deal_states = versions(c)
        contact_versions.extend(contact_states)
        deal_versions.extend(deal_states)
    folder = out_dir / FOLDER
    write_jsonl(folder / "contacts.jsonl", contact_versions)
    write_jsonl(folder / "deals.jsonl", deal_versions)
    write_jsonl(folder / "companies.jsonl", companies(world))
    for kind in ENGAGEMENT_KINDS:
        rows = [_engagement(t) for t in world.sales_touches if t.kind == kind]
        write_jsonl(folder / f"{kind}s.jsonl", rows)


# --------------------------------------------------------------------------- the API


class HubSpotError(ValueError):
    """A request HubSpot refuses, answered with its JSON error body."""

    def __init__(self, status: int, category: str, message: str, **extra: str):
        super().__init__(message)
        self.status = status
        self.body = {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
            **extra,
        }


class RateLimiter:
    """At most ``per_second`` calls in any rolling window of ``window`` seconds (HubSpot's
    search limit: 1 s; its burst limit: ``RateLimiter(190, window=10)``)."""

    def __init__(self, per_second: float | None, window: float = 1.0):
        self.per_second = per_second  # calls per window (per second for the default window)
        self.window = window
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()
        self.refused = 0
        self.remaining = int(per_second or 0)

    def allow(self) -> bool:
        if not self.per_second:
            return True
        with self._lock:
            now = time.monotonic()
            while self._calls and now - self._calls[0] >= self.window:
                self._calls.popleft()
            if len(self._calls) >= self.per_second:
                self.refused += 1
                self.remaining = 0
                return False
            self._calls.append(now)
            self.remaining = int(self.per_second) - len(self._calls)
            return True

    def headers(self) -> dict[str, str]:
        """HubSpot's rate-limit headers for this limit (none when no limit is set)."""
        if not self.per_second:
            return {}
        return {
            "X-HubSpot-RateLimit-Max": str(int(self.per_second)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window * 1000)),
            "X-HubSpot-RateLimit-Remaining": str(self.remaining),
        }


@dataclass
class _Versions:
    """One object file: its versions sorted by ``updatedAt`` (file order on ties)."""

    times: list[datetime]
    records: list[dict]
    unkeyed: list[dict]  # no id or updatedAt: in every answer, for the connector to reject
    latest_associations: dict[str, list[dict]]
    listing: list[dict]  # the list endpoint's answer: each object's latest version, by id
    # a search's sorted results, kept for its next pages (small LRU, gone with the version)
    searches: OrderedDict[tuple[datetime, datetime], list[dict]] = field(
        default_factory=OrderedDict
    )


def _index(rows: list[dict]) -> _Versions:
    keyed, unkeyed, latest = [], [], {}
    for row in rows:
        if row.get("id") is None or row.get("updatedAt") is None:
            unkeyed.append(row)
            continue
        keyed.append((parse_ts(str(row["updatedAt"])), row))
        latest[str(row["id"])] = ((row.get("associations") or {}).get("contacts") or {}).get(
            "results", []
        )
    keyed.sort(key=lambda pair: pair[0])  # stable: the later line wins a tie, as it did
    current: dict[str, dict] = {}
    for _, row in keyed:
        current[str(row["id"])] = row
    listing = [current[i] for i in sorted(current, key=_id_order)] + unkeyed
    return _Versions([t for t, _ in keyed], [r for _, r in keyed], unkeyed, latest, listing)


def _id_order(object_id: str) -> tuple[int, str]:
    """HubSpot lists objects by their numeric id."""
    return (int(object_id), "") if object_id.isdigit() else (1 << 62, object_id)


def _json(raw: bytes) -> dict:
    return json.loads(raw) if raw else {}


def _from_ms(value: str) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


class Api:
    """HubSpot's CRM endpoints over the demo files (no HTTP here: easy to test)."""

    prefixes = ("/crm/",)

    def __init__(
        self,
        demo_dir: Path,
        page_size: int = 100,
        search_per_second: float | None = None,
        requests_per_10s: int | None = None,
    ):
        self.folder = demo_dir / FOLDER
        self.page_size = page_size
        self.search_cap = SEARCH_CAP
        self.search_limit = RateLimiter(search_per_second)
        self.burst_limit = RateLimiter(requests_per_10s, window=10.0)
        self.indexes = IndexCache()
        self._lock = threading.Lock()

    def _versions(self, obj: str) -> _Versions:
        if obj not in OBJECTS:
            raise KeyError(obj)
        return self.indexes.get(self.folder / f"{obj}.jsonl", "versions", _index)

    def search(self, obj: str, body: dict) -> dict:
        offset, limit = int(body.get("after") or 0), min(int(body.get("limit", 10)), 200)
        if offset + min(limit, self.page_size) > self.search_cap:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Search results are limited to {self.search_cap} total results; paging"
                f" beyond (after={offset}, limit={limit}) is not supported. Narrow the filters.",
            )
        start, end = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
        for group in body.get("filterGroups", []):
            for f in group.get("filters", []):
                if f.get("operator") == "GTE":
                    start = _from_ms(f["value"])
                elif f.get("operator") == "LT":
                    end = _from_ms(f["value"])
        index = self._versions(obj)
        with self._lock:
            results = index.searches.get((start, end))
            if results is not None:
                index.searches.move_to_end((start, end))
        if results is None:
            results = self._window(index, start, end)
            with self._lock:
                index.searches[(start, end)] = results
                while len(index.searches) > 16:
                    index.searches.popitem(last=False)
        return self._cursor_page(results, body.get("after"), limit)

    @staticmethod
    def _window(index: _Versions, start: datetime, end: datetime) -> list[dict]:
        """Objects whose latest version before ``end`` changed at or after ``start``, in
        that version (the object as the search would see it at the window's end)."""
        first = bisect.bisect_left(index.times, start)
        last = bisect.bisect_left(index.times, end)
        latest: dict[str, dict] = {}
        for row in index.records[first:last]:
            latest[str(row["id"])] = row
        rows = sorted(
            [*index.unkeyed, *latest.values()],
            key=lambda r: (str(r.get("updatedAt", "")), str(r.get("id", ""))),
        )
        return [{k: v for k, v in row.items() if k != "associations"} for row in rows]

    def _cursor_page(self, results: list[dict], after: str | None, limit: int) -> dict:
        offset = int(after or 0)
        limit = min(limit, self.page_size)
        page = results[offset : offset + limit]
        out: dict[str, Any] = {"total": len(results), "results": page}
        if offset + limit < len(results):
            out["paging"] = {"next": {"after": str(offset + limit)}}
        return out

    def list_objects(self, obj: str, query: dict[str, str]) -> dict:
        """``GET /crm/v3/objects/{obj}``: a page of objects in their current state, by id."""
        limit = int(query.get("limit") or 10)
        if not 1 <= limit <= LIST_LIMIT:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"limit must be between 1 and {LIST_LIMIT} (was {limit})",
            )
        offset = int(query.get("after") or 0)
        index = self._versions(obj)
        listing = index.listing
        wanted = {a.strip() for a in (query.get("associations") or "").split(",") if a.strip()}
        page = []
        for row in listing[offset : offset + limit]:
            out = {k: v for k, v in row.items() if k != "associations"}
            if "contacts" in wanted and obj in CONTACT_ASSOCIATION_TYPES and row.get("id"):
                links = index.latest_associations.get(str(row["id"]), [])
                if links:  # HubSpot leaves out an association type with nothing in it
                    contacts = self._association_page(
                        obj, str(row["id"]), links, 0, ASSOCIATIONS_INLINE
                    )
                    out["associations"] = {"contacts": contacts}
            page.append(out)
        answer: dict[str, Any] = {"results": page}
        if offset + limit < len(listing):
            after = str(offset + limit)
            answer["paging"] = {
                "next": {"after": after, "link": f"/crm/v3/objects/{obj}?after={after}"}
            }
        return answer

    def object_associations(self, obj: str, object_id: str, query: dict[str, str]) -> dict:
        """``GET /crm/v3/objects/{obj}/{id}/associations/contacts``: one object's contacts."""
        limit = min(int(query.get("limit") or ASSOCIATIONS_PAGE), ASSOCIATIONS_PAGE)
        links = self._versions(obj).latest_associations.get(object_id)
        if links is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"No {obj} with id {object_id}")
        return self._association_page(obj, object_id, links, int(query.get("after") or 0), limit)

    @staticmethod
    def _association_page(
        obj: str, object_id: str, links: list[dict], offset: int, limit: int
    ) -> dict:
        answer: dict[str, Any] = {
            "results": [{"id": a["id"], "type": a["type"]} for a in links[offset : offset + limit]]
        }
        if offset + limit < len(links):
            after = str(offset + limit)
            link = f"/crm/v3/objects/{obj}/{object_id}/associations/contacts?after={after}"
            answer["paging"] = {"next": {"after": after, "link": link}}
        return answer

    def contact_associations(self, obj: str, body: dict) -> dict:
        """v4 batch read ``{obj}`` → contacts: the contacts of each object's latest version."""
        type_id = CONTACT_ASSOCIATION_TYPES[obj]
        wanted = {str(i["id"]) for i in body.get("inputs", [])}
        latest = self._versions(obj).latest_associations
        results = []
        for object_id in sorted(wanted & latest.keys()):
            results.append(
                {
                    "from": {"id": object_id},
                    "to": [
                        {
                            "toObjectId": int(a["id"]),
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                            ],
                        }
                        for a in latest[object_id]
                    ],
                }
            )
        return {"status": "COMPLETE", "results": results}

    def authorised(self, headers: Any) -> bool:
        return headers.get("Authorization", "") == f"Bearer {TOKEN}"

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: Callable[[], bytes]
    ) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        if not self.authorised(headers):
            return 401, {"message": "bad credentials"}
        if method == "POST" and (m := re.fullmatch(r"/crm/v3/objects/(\w+)/search", path)):
            if not self.search_limit.allow():
                raise HubSpotError(
                    429,
                    "RATE_LIMITS",
                    "You have reached your secondly limit.",
                    errorType="RATE_LIMIT",
                    policyName="SECONDLY",
                )
            return 200, self.search(m.group(1), _json(body()))
        # every other request counts against the account's burst limit (search has its own)
        if not self.burst_limit.allow():
            raise HubSpotError(
                429,
                "RATE_LIMITS",
                "You have reached your ten_secondly_rolling limit.",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
            )
        limits = self.burst_limit.headers()
        if method == "POST" and (
            m := re.fullmatch(r"/crm/v4/associations/(\w+)/contacts/batch/read", path)
        ):
            return 200, self.contact_associations(m.group(1), _json(body())), limits
        if method == "GET" and (m := re.fullmatch(r"/crm/v3/objects/(\w+)", path)):
            return 200, self.list_objects(m.group(1), query), limits
        if method == "GET" and (
            m := re.fullmatch(r"/crm/v3/objects/(\w+)/([^/]+)/associations/contacts", path)
        ):
            return 200, self.object_associations(m.group(1), m.group(2), query), limits
        return 404, {"message": f"no such endpoint: {method} {path}"}

    def error(self, exc: Exception) -> tuple[int, Any] | tuple[int, Any, dict[str, str]] | None:
        if not isinstance(exc, HubSpotError):
            return None
        if exc.body.get("policyName") == "TEN_SECONDLY_ROLLING":
            return exc.status, exc.body, self.burst_limit.headers()
        return exc.status, exc.body


# --------------------------------------------------------------------------- the connection
SECRETS = {"hubspot": TOKEN}  # the demo's well-known fake credentials


def demo_connection(server_url: str, demo_dir: Path) -> dict:
    """The ``smarketing_hubspot`` connection (Airflow's JSON form) for the demo server."""
    return {"conn_type": "http", "host": server_url, "password": TOKEN}
