"""HubSpot CRM v3: contacts, companies, deals and sales engagements changed in a window.

Uses the CRM search API (filter on the last-modified property, cursor paging through
``paging.next.after``) and the v4 associations batch read for the contacts of deals, calls,
e-mails and meetings. Incremental by design: a run asks only for objects modified inside its
extract window. Engagement bodies (e-mail text, call notes) are never requested: personal data.

HubSpot's search has two limits a first load of a real account meets:

* at most 10,000 results per query: paging past them is answered 400. A window whose
  ``total`` exceeds the cap is split in two halves by time, recursively, until every part
  fits; so any number of records loads, in ``ceil(n / 10,000)`` or a few more queries.
* about five search requests per second per account (429 with HubSpot's JSON error
  beyond it): the reader spaces its search requests (``search_per_second``) and the shared
  client retries a 429 after ``Retry-After`` or its backoff.

A window holding more than ``slice_records`` records (the first page's ``total`` says) is
read as that many equal time slices by up to ``workers`` threads (``smarketing.sources.
fanout``): the throttle is one per reader, so the search rate holds across the workers,
and the slices are handed on in time order, so the landed file does not depend on the
number of workers. Each slice reads its records' contacts batch by batch as it goes: the
association reads (not under the search limit) overlap the searches.

A window too big for search to be cheap (a first load, a re-sync: the first page's ``total``
above ``list_above``) is read through the object list instead, when that is estimated to take
less time: ``GET /crm/v3/objects/{object}`` pages through every object of the type (100 a page,
its contacts inline: no association batch reads), under the account's burst limit rather than
the search limit, filtered here to the window on the modified property (HubSpot's search
filters on the same property, so the same records land, in id order instead of modified-time
order). One count search (every object of the type) prices it: listing takes ``ceil(all /
100)`` requests at the burst rate, searching ``ceil(total / 200)`` at the search rate (and the
association reads at the burst rate); a nightly window in a large account keeps searching.
An object with more than 100 contacts has the rest behind the association's own cursor
(``GET /crm/v3/objects/{object}/{id}/associations/contacts``), followed to its end. The burst
rate is ``requests_per_10s`` when set, else 90 % of the ``X-HubSpot-RateLimit-Max`` per
``-Interval-Milliseconds`` HubSpot states on its answers (90 per 10 s, 90 % of the lowest
tier's 100, until it does).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from functools import partial
from itertools import islice, pairwise

from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials
from smarketing.sources.fanout import Slice, ordered
from smarketing.sources.http import JsonHttpClient, RetryPolicy
from smarketing.sources.paging import PageGuard, expect_list
from smarketing.sources.timestamps import parse_vendor_timestamp

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.hubapi.com"
MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "calls": "hs_lastmodifieddate",
    "emails": "hs_lastmodifieddate",
    "meetings": "hs_lastmodifieddate",
}
_ENGAGEMENT = ["hs_timestamp", "hubspot_owner_id"]
_CREATED_MODIFIED = ["hs_createdate", "hs_lastmodifieddate"]
PROPERTIES = {
    "contacts": [
        "email",
        "firstname",
        "lastname",
        "company",
        "associatedcompanyid",
        "hubspot_owner_id",
        "ga_client_id",
        "hs_analytics_source",
        "hs_analytics_source_data_1",
        "hs_analytics_source_data_2",
        "createdate",
        "lastmodifieddate",
        "lifecyclestage",
        "hs_lifecyclestage_lead_date",
        "hs_lifecyclestage_marketingqualifiedlead_date",
        "hs_lifecyclestage_salesqualifiedlead_date",
        "hs_lifecyclestage_opportunity_date",
        "hs_lifecyclestage_customer_date",
        # the most recent entry into MQL: a recycled lead that qualifies again restarts the SLA
        "hs_v2_date_entered_marketingqualifiedlead",
        # sales' decision on the lead (NEW, OPEN, IN_PROGRESS, ..., UNQUALIFIED, BAD_TIMING)
        "hs_lead_status",
    ],
    "deals": [
        "dealname",
        "amount",
        "deal_currency_code",
        "dealstage",
        "pipeline",
        "hubspot_owner_id",
        "createdate",
        "closedate",
        "hs_lastmodifieddate",
    ],
    "companies": [
        "name",
        "domain",
        "industry",
        "numberofemployees",
        "createdate",
        "hs_lastmodifieddate",
    ],
    "calls": [
        *_ENGAGEMENT,
        "hs_call_direction",
        "hs_call_disposition",
        "hs_call_duration",
        "hs_call_title",
        *_CREATED_MODIFIED,
    ],
    "emails": [*_ENGAGEMENT, "hs_email_direction", "hs_email_subject", *_CREATED_MODIFIED],
    "meetings": [
        *_ENGAGEMENT,
        "hs_meeting_title",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hs_meeting_outcome",
        *_CREATED_MODIFIED,
    ],
}
# objects whose contacts come from the v4 associations batch read, and the association
# label the connector gives them (HubSpot's singular object name)
WITH_CONTACTS = {"deals": "deal", "calls": "call", "emails": "email", "meetings": "meeting"}
PAGE_SIZE = 200  # the search API's maximum page (raised from 100 in 2024)
SEARCH_CAP = 10_000  # results one search query can page through; beyond: HTTP 400
ASSOCIATION_BATCH = 100
SLICE_RECORDS = 5_000  # a window with more records is read as time slices of about this many
MAX_SLICES = 64
LIST_PAGE = 100  # the object list's largest page (above: HTTP 400)
LIST_ABOVE = 1_000  # a window with more records may be read through the object list
ASSOCIATIONS_PAGE = 500  # the v3 associations list's largest page
BURST_SHARE = 0.9  # share of HubSpot's stated burst limit the reader uses
LOWEST_BURST_PER_10S = 100  # Free and Starter accounts: the rate before HubSpot states its own
_SMALLEST_WINDOW = timedelta(milliseconds=1)  # HubSpot filters on epoch milliseconds


def _ms(ts: datetime) -> str:
    return str(int(ts.timestamp() * 1000))


class SearchTooDense(RuntimeError):
    """More than the search cap changed within one millisecond: no time split can help."""


class Throttle:
    """Spaces calls at least ``1 / per_second`` apart (HubSpot's per-account search rate).

    Thread-safe: each caller reserves the next free slot under the lock and sleeps until it
    outside the lock, so any number of workers sharing one throttle keep the rate together.
    """

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for run summaries and tests

    @property
    def per_second(self) -> float:
        return 1.0 / self.interval if self.interval else math.inf

    def set_rate(self, per_second: float) -> None:
        """A new rate from the next reserved slot on (the vendor stated its limit)."""
        with self._lock:
            self.interval = 1.0 / per_second if per_second > 0 else 0.0

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            self.waited += slot - now
        if slot > now:
            self._sleep(slot - now)


class HubSpotReader:
    """Reads the ``hubspot`` vendor's entities from a HubSpot account (or the demo server)."""

    def __init__(
        self,
        creds: Credentials,
        policy: RetryPolicy | None = None,
        search_per_second: float = 4.0,
        page_size: int = PAGE_SIZE,
        search_cap: int = SEARCH_CAP,
        workers: int = 1,
        slice_records: int | None = None,
        contact_properties: tuple[str, ...] = (),
        requests_per_10s: float | None = None,
        list_above: int = LIST_ABOVE,
    ):
        creds.require("password")
        self.client = JsonHttpClient(
            "hubspot",
            creds.host or DEFAULT_BASE_URL,
            {"Authorization": f"Bearer {creds.password}"},
            policy,
        )
        self.throttle = Throttle(search_per_second)
        self.page_size = page_size
        self.search_cap = search_cap
        self.workers = workers
        self.slice_records = slice_records or SLICE_RECORDS
        # the account's burst limit, for list pages and their association pages
        self.burst_stated = requests_per_10s is None  # follow what HubSpot's headers state
        burst = requests_per_10s or BURST_SHARE * LOWEST_BURST_PER_10S
        self.burst = Throttle(burst / 10)
        self.list_above = list_above
        self.listed = 0  # object windows read through the object list
        self.splits = 0  # windows split because they held more than the cap
        self.slices = 0  # time slices the windows were read in (1 per unsliced window)
        # account-specific contact properties (e.g. the disqualification reason) on top
        self.properties = {
            **PROPERTIES,
            "contacts": list(dict.fromkeys([*PROPERTIES["contacts"], *contact_properties])),
        }

    def _search_page(self, obj: str, body: dict) -> dict:
        return self.client.request(
            "POST", f"/crm/v3/objects/{obj}/search", json_body=body, pace=self.throttle.wait
        )

    def _first_page(self, obj: str, start: datetime, end: datetime) -> tuple[dict, dict, int]:
        """The search body, first page and declared total of ``obj`` in [start, end)."""
        body = self._search_body(obj, MODIFIED_PROPERTY[obj], start, end)
        first = self._search_page(obj, body)
        # a 200 of [] or {"results": null} fails here naming the endpoint, before "total" is read
        expect_list(first, "results", "hubspot", f"POST /crm/v3/objects/{obj}/search")
        return body, first, int(first.get("total") or 0)

    def time_slices(
        self, start: datetime, end: datetime, total: int
    ) -> list[tuple[datetime, datetime]]:
        """[start, end) cut into equal parts of about ``slice_records`` records each, on
        millisecond bounds (HubSpot filters on epoch ms). Depends on the data, never on the
        number of workers: one plan, one landed file."""
        parts = min(MAX_SLICES, -(-total // self.slice_records))
        bounds = {start, end}
        for i in range(1, parts):
            cut = start + (end - start) * i / parts
            bounds.add(datetime.fromtimestamp(int(_ms(cut)) / 1000, cut.tzinfo))
        edges = sorted(b for b in bounds if start <= b <= end)
        return list(pairwise(edges))

    def search(
        self, obj: str, start: datetime, end: datetime, first: tuple[dict, dict, int] | None = None
    ) -> Iterator[dict]:
        """Every ``obj`` modified in [start, end): windows over the cap are split by time.
        ``first``: the window's first page when the caller has already asked for it."""
        body, first_page, total = first or self._first_page(obj, start, end)
        if total > self.search_cap:
            if end - start <= _SMALLEST_WINDOW:
                raise SearchTooDense(
                    f"source=hubspot entity={obj}: {total} records modified within one millisecond"
                    f" at {start.isoformat()} exceed HubSpot's search cap of {self.search_cap}"
                )
            middle = start + (end - start) / 2
            middle = datetime.fromtimestamp(int(_ms(middle)) / 1000, middle.tzinfo)
            if not start < middle < end:
                raise SearchTooDense(
                    f"source=hubspot entity={obj}: {total} records in [{start.isoformat()},"
                    f" {end.isoformat()}) exceed HubSpot's search cap of {self.search_cap}"
                )
            self.splits += 1
            log.info(
                "source=hubspot entity=%s: %d results in [%s, %s) exceed the search cap %d;"
                " splitting at %s",
                obj,
                total,
                start.isoformat(),
                end.isoformat(),
                self.search_cap,
                middle.isoformat(),
            )
            yield from self.search(obj, start, middle)
            yield from self.search(obj, middle, end)
            return
        # one guard per (sub-)window: a cursor such as "200" legitimately recurs in the next one
        guard = PageGuard(self.client, f"POST /crm/v3/objects/{obj}/search")
        page = first_page
        while True:
            yield from guard.items(page, "results")
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            guard.advance(after)
            body["after"] = after
            page = self._search_page(obj, body)

    def _search_body(self, obj: str, prop: str, start: datetime, end: datetime) -> dict:
        return {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": prop, "operator": "GTE", "value": _ms(start)},
                        {"propertyName": prop, "operator": "LT", "value": _ms(end)},
                    ]
                }
            ],
            "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
            "properties": self.properties[obj],
            "limit": self.page_size,
        }

    def associated_contacts(self, obj: str, ids: list[str]) -> dict[str, list[str]]:
        """Contact ids associated with each ``obj`` record (v4 batch read, 100 per call)."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(ids), ASSOCIATION_BATCH):
            batch = [{"id": d} for d in ids[i : i + ASSOCIATION_BATCH]]
            page = self.client.request(
                "POST",
                f"/crm/v4/associations/{obj}/contacts/batch/read",
                json_body={"inputs": batch},
            )
            endpoint = f"POST /crm/v4/associations/{obj}/contacts/batch/read"
            for result in expect_list(page, "results", "hubspot", endpoint):
                out[str(result["from"]["id"])] = [str(t["toObjectId"]) for t in result["to"]]
        return out

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        """Every record of ``spec.entity`` modified in [start, end), in modified-time order
        (slice by slice) or, read through the object list, in id order; each engagement/deal
        with its contacts."""
        obj = spec.entity
        if obj not in MODIFIED_PROPERTY:
            raise KeyError(f"HubSpot reader has no entity {obj!r}")
        first = self._first_page(obj, start, end)
        if first[2] > self.list_above and self._listing_is_faster(obj, first[2]):
            self.listed += 1
            yield from self.list_window(obj, start, end)
            return
        if first[2] <= self.slice_records:
            self.slices += 1
            yield from self._with_contacts(obj, self.search(obj, start, end, first))
            return
        # the first page of the whole window is not reused: each slice is its own query
        windows = self.time_slices(start, end, first[2])
        self.slices += len(windows)
        log.info(
            "source=crm entity=%s: %d results in [%s, %s); reading %d time slices with %d workers",
            obj,
            first[2],
            start.isoformat(),
            end.isoformat(),
            len(windows),
            self.workers,
        )
        yield from ordered(
            (
                Slice(f"{obj} [{s.isoformat()}, {e.isoformat()})", partial(self._slice, obj, s, e))
                for s, e in windows
            ),
            self.workers,
        )

    def _listing_is_faster(self, obj: str, total: int) -> bool:
        """Whether listing every ``obj`` takes less time than searching ``total`` of them,
        at the two rates (one count search prices it)."""
        count = self._search_page(
            obj, {"filterGroups": [], "properties": ["hs_object_id"], "limit": 1}
        )
        everything = int(count.get("total") or 0)
        listing = math.ceil(everything / LIST_PAGE) / self.burst.per_second
        searching = math.ceil(total / self.page_size) / self.throttle.per_second
        if obj in WITH_CONTACTS:  # the association batch reads: the burst limit's
            searching = max(searching, math.ceil(total / ASSOCIATION_BATCH) / self.burst.per_second)
        log.info(
            "source=hubspot entity=%s: %d changed in the window of %d; listing ~%.0f s,"
            " searching ~%.0f s: %s",
            obj,
            total,
            everything,
            listing,
            searching,
            "listing" if listing < searching else "searching",
        )
        return listing < searching

    def _on_burst_headers(self, headers: Mapping[str, str]) -> None:
        """Follow the burst limit HubSpot states (unless one was configured)."""
        if not self.burst_stated:
            return
        try:
            limit = int(headers["X-HubSpot-RateLimit-Max"])
            window_ms = int(headers["X-HubSpot-RateLimit-Interval-Milliseconds"])
        except (KeyError, TypeError, ValueError):
            return
        if limit > 0 and window_ms > 0:
            self.burst.set_rate(BURST_SHARE * limit * 1000 / window_ms)

    def _burst_get(self, path: str, params: dict) -> dict:
        return self.client.request(
            "GET", path, params=params, pace=self.burst.wait, on_headers=self._on_burst_headers
        )

    def list_window(self, obj: str, start: datetime, end: datetime) -> Iterator[dict]:
        """Every ``obj`` modified in [start, end), through the object list (in id order):
        each object in its current state, kept when its modified property is in the window
        (the property search filters on); deals and engagements with all their contacts."""
        params = {
            "limit": LIST_PAGE,
            "properties": ",".join(self.properties[obj]),
            "archived": "false",
        }
        if obj in WITH_CONTACTS:
            params["associations"] = "contacts"
        path = f"/crm/v3/objects/{obj}"
        guard = PageGuard(self.client, f"GET {path}")
        page = self._burst_get(path, params)
        while True:
            for record in guard.items(page, "results"):
                if not self._modified_in(record, obj, start, end):
                    continue
                if obj in WITH_CONTACTS:
                    record["associations"] = self._all_contacts(obj, record)
                yield record
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            guard.advance(after)
            page = self._burst_get(path, {**params, "after": after})

    @staticmethod
    def _modified_in(record: dict, obj: str, start: datetime, end: datetime) -> bool:
        """The record's modified property (else ``updatedAt``) in [start, end). A record
        without a readable one is handed on: the landing's checks reject it by name."""
        value = (record.get("properties") or {}).get(MODIFIED_PROPERTY[obj])
        try:
            modified = parse_vendor_timestamp(value if value is not None else record["updatedAt"])
        except (KeyError, ValueError, OverflowError, OSError):
            return True
        return start <= modified < end

    def _all_contacts(self, obj: str, record: dict) -> dict:
        """The record's contacts as the batch read gives them: the inline ones, then the
        rest behind the association's cursor; each contact once."""
        inline = ((record.get("associations") or {}).get("contacts")) or {}
        endpoint = f"GET /crm/v3/objects/{obj}/{{id}}/associations/contacts"
        ids = [str(a["id"]) for a in expect_list(inline, "results", "hubspot", endpoint)]
        page, guard = inline, PageGuard(self.client, endpoint)
        while after := ((page.get("paging") or {}).get("next") or {}).get("after"):
            guard.advance(after)
            page = self._burst_get(
                f"/crm/v3/objects/{obj}/{record['id']}/associations/contacts",
                {"after": after, "limit": ASSOCIATIONS_PAGE},
            )
            ids += [str(a["id"]) for a in guard.items(page, "results")]
        label = f"{WITH_CONTACTS[obj]}_to_contact"
        return {"contacts": {"results": [{"id": c, "type": label} for c in dict.fromkeys(ids)]}}

    def _slice(self, obj: str, start: datetime, end: datetime) -> Iterator[dict]:
        return self._with_contacts(obj, self.search(obj, start, end))

    def _with_contacts(self, obj: str, records: Iterable[dict]) -> Iterator[dict]:
        """Deals and engagements with their contacts, read one association batch at a time
        (nothing held beyond a batch)."""
        if obj not in WITH_CONTACTS:
            yield from records
            return
        label = f"{WITH_CONTACTS[obj]}_to_contact"
        records = iter(records)
        while batch := list(islice(records, ASSOCIATION_BATCH)):
            contacts = self.associated_contacts(obj, [str(r["id"]) for r in batch if r.get("id")])
            for record in batch:
                ids = contacts.get(str(record.get("id")), [])
                record["associations"] = {
                    "contacts": {"results": [{"id": c, "type": label} for c in ids]}
                }
                yield record


def build_reader(creds: Credentials, policy: RetryPolicy, settings) -> HubSpotReader:
    """The registry's factory (smarketing.vendors)."""
    return HubSpotReader(
        creds,
        policy,
        settings.hubspot_search_per_second,
        workers=settings.extract_workers,
        contact_properties=(settings.disqualification_reason_property,),
        requests_per_10s=settings.hubspot_requests_per_10s,
        list_above=settings.hubspot_list_above,
    )


# the catalog entries of this vendor's raw tables raw.hubspot__<entity> (the registry,
# smarketing.vendors, points here; smarketing.sources.catalog collects them)
ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "hubspot",
        "contacts",
        "upsert",
        "id",
        None,
        "",
        "updatedAt",
        required=("id", "updatedAt", "properties.createdate"),
        types=(
            ("updatedAt", "timestamp"),
            ("properties.createdate", "crm_timestamp"),
            ("properties.hs_lifecyclestage_lead_date", "crm_timestamp"),
            ("properties.hs_lifecyclestage_marketingqualifiedlead_date", "crm_timestamp"),
            ("properties.hs_lifecyclestage_salesqualifiedlead_date", "crm_timestamp"),
            ("properties.hs_lifecyclestage_opportunity_date", "crm_timestamp"),
            ("properties.hs_lifecyclestage_customer_date", "crm_timestamp"),
            ("properties.hs_v2_date_entered_marketingqualifiedlead", "crm_timestamp"),
        ),
    ),
    EntitySpec(
        "hubspot",
        "deals",
        "upsert",
        "id",
        None,
        "",
        "updatedAt",
        # no amount: an open deal not priced yet (pipeline of unknown value), never a failure
        required=("id", "updatedAt", "properties.dealstage", "properties.createdate"),
        types=(
            ("updatedAt", "timestamp"),
            ("properties.amount", "decimal"),
            ("properties.createdate", "crm_timestamp"),
            ("properties.closedate", "crm_timestamp"),
        ),
        future_ok=("properties.closedate",),
        value_path="properties.amount",
    ),
    EntitySpec(
        "hubspot",
        "companies",
        "upsert",
        "id",
        None,
        "",
        "updatedAt",
        required=("id", "updatedAt", "properties.name"),
        types=(
            ("updatedAt", "timestamp"),
            ("properties.createdate", "crm_timestamp"),
            ("properties.numberofemployees", "int"),
        ),
    ),
    *(
        # sales engagements logged against contacts: calls, e-mails, meetings
        EntitySpec(
            "hubspot",
            engagement,
            "upsert",
            "id",
            None,
            "",
            "updatedAt",
            required=("id", "updatedAt", "properties.hs_timestamp"),
            types=(("updatedAt", "timestamp"), ("properties.hs_timestamp", "crm_timestamp")),
            # a meeting (or a planned call) may be logged ahead of when it happens
            future_ok=("properties.hs_timestamp",),
        )
        for engagement in ("calls", "emails", "meetings")
    ),
)
