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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from functools import partial
from itertools import islice, pairwise

from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials
from smarketing.sources.fanout import Slice, ordered
from smarketing.sources.http import JsonHttpClient, RetryPolicy
from smarketing.sources.paging import PageGuard, expect_list

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
        (slice by slice), each engagement/deal with its contacts."""
        obj = spec.entity
        if obj not in MODIFIED_PROPERTY:
            raise KeyError(f"HubSpot reader has no entity {obj!r}")
        first = self._first_page(obj, start, end)
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
