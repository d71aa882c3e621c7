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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials
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
_SMALLEST_WINDOW = timedelta(milliseconds=1)  # HubSpot filters on epoch milliseconds


def _ms(ts: datetime) -> str:
    return str(int(ts.timestamp() * 1000))


class SearchTooDense(RuntimeError):
    """More than the search cap changed within one millisecond: no time split can help."""


class Throttle:
    """Spaces calls at least ``1 / per_second`` apart (HubSpot's per-account search rate)."""

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
            if now < self._next:
                self._sleep(self._next - now)
                self.waited += self._next - now
                now = self._next
            self._next = now + self.interval


class HubSpotReader:
    """Reads the ``crm`` source's entities from a HubSpot account (or the demo server)."""

    def __init__(
        self,
        creds: Credentials,
        policy: RetryPolicy | None = None,
        search_per_second: float = 4.0,
        page_size: int = PAGE_SIZE,
        search_cap: int = SEARCH_CAP,
        contact_properties: tuple[str, ...] = (),
    ):
        creds.require("password")
        self.client = JsonHttpClient(
            "crm",
            creds.host or DEFAULT_BASE_URL,
            {"Authorization": f"Bearer {creds.password}"},
            policy,
        )
        self.throttle = Throttle(search_per_second)
        self.page_size = page_size
        self.search_cap = search_cap
        self.splits = 0  # windows split because they held more than the cap
        # account-specific contact properties (e.g. the disqualification reason) on top
        self.properties = {
            **PROPERTIES,
            "contacts": list(dict.fromkeys([*PROPERTIES["contacts"], *contact_properties])),
        }

    def _search_page(self, obj: str, body: dict) -> dict:
        self.throttle.wait()
        return self.client.request("POST", f"/crm/v3/objects/{obj}/search", json_body=body)

    def search(self, obj: str, start: datetime, end: datetime) -> Iterator[dict]:
        """Every ``obj`` modified in [start, end): windows over the cap are split by time."""
        prop = MODIFIED_PROPERTY[obj]
        body = self._search_body(obj, prop, start, end)
        first = self._search_page(obj, body)
        # a 200 of [] or {"results": null} fails here naming the endpoint, before "total" is read
        expect_list(first, "results", "crm", f"POST /crm/v3/objects/{obj}/search")
        total = int(first.get("total") or 0)
        if total > self.search_cap:
            if end - start <= _SMALLEST_WINDOW:
                raise SearchTooDense(
                    f"source=crm entity={obj}: {total} records modified within one millisecond"
                    f" at {start.isoformat()} exceed HubSpot's search cap of {self.search_cap}"
                )
            middle = start + (end - start) / 2
            middle = datetime.fromtimestamp(int(_ms(middle)) / 1000, middle.tzinfo)
            if not start < middle < end:
                raise SearchTooDense(
                    f"source=crm entity={obj}: {total} records in [{start.isoformat()},"
                    f" {end.isoformat()}) exceed HubSpot's search cap of {self.search_cap}"
                )
            self.splits += 1
            log.info(
                "source=crm entity=%s: %d results in [%s, %s) exceed the search cap %d;"
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
        page = first
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
            for result in expect_list(page, "results", "crm", endpoint):
                out[str(result["from"]["id"])] = [str(t["toObjectId"]) for t in result["to"]]
        return out

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        obj = spec.entity
        if obj not in MODIFIED_PROPERTY:
            raise KeyError(f"HubSpot reader has no entity {obj!r}")
        if obj not in WITH_CONTACTS:
            yield from self.search(obj, start, end)
            return
        records = list(self.search(obj, start, end))
        contacts = self.associated_contacts(obj, [str(r["id"]) for r in records if r.get("id")])
        label = f"{WITH_CONTACTS[obj]}_to_contact"
        for record in records:
            ids = contacts.get(str(record.get("id")), [])
            record["associations"] = {
                "contacts": {"results": [{"id": c, "type": label} for c in ids]}
            }
            yield record
